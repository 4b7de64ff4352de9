"""Bridges plain observable state into Flet's component updates."""

from collections.abc import Callable

import flet as ft

from app_kit.observable import Observable


def use_observable(source: Observable) -> None:
    """Re-render the calling component whenever ``source`` changes."""
    _, set_version = ft.use_state(source.version)

    def subscribe() -> Callable[[], None]:
        unsubscribe = source.subscribe(lambda: set_version(source.version))
        # A change between the render and this (deferred) effect would otherwise be missed.
        set_version(source.version)
        return unsubscribe

    ft.use_effect(subscribe, [source])


def tagged(identifier: str, content: ft.Control, *, expand: bool = False) -> ft.Control:
    """A stable selector for browser tests (``flt-semantics-identifier`` on the web).

    ``expand`` belongs on the wrapper: an expanding control inside it cannot grow the row.
    """
    return ft.Semantics(identifier=identifier, content=content, expand=expand or None)
