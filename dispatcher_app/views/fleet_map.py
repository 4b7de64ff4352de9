"""The live map (placeholder: helper A)."""

import flet as ft

from app_kit.hooks import tagged
from dispatcher_app.state.app import DispatcherAppState


@ft.component
def fleet_map_panel(app: DispatcherAppState) -> ft.Control:
    return tagged("fleet-map", ft.Text("Map"), expand=True)
