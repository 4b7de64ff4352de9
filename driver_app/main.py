"""Composition root: the driver app's state and root view, served on the web."""

from collections.abc import Awaitable, Callable

import flet as ft

from app_kit.web import session_main
from driver_app.state.app import DriverAppState
from driver_app.views.app import driver_app_view

TITLE = "Lastmile driver"


def build(api_url: str) -> Callable[[ft.Page], Awaitable[None]]:
    return session_main(api_url, TITLE, DriverAppState, driver_app_view)
