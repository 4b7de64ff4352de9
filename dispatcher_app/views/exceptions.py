"""The exceptions inbox (placeholder: helper D)."""

import flet as ft

from app_kit.hooks import tagged
from dispatcher_app.state.app import DispatcherAppState


@ft.component
def exceptions_panel(app: DispatcherAppState) -> ft.Control:
    return tagged("exceptions", ft.Text("Exceptions"), expand=True)
