"""Composition root: the dispatcher app's state and root view, served on the web."""

from collections.abc import Awaitable, Callable

import flet as ft

from app_kit.web import session_main
from dispatcher_app.state.app import DispatcherAppState
from dispatcher_app.views.app import dispatcher_app_view

TITLE = "Lastmile dispatch"


def build(api_url: str) -> Callable[[ft.Page], Awaitable[None]]:
    return session_main(api_url, TITLE, DispatcherAppState, dispatcher_app_view)
