"""The KPI charts (placeholder: helper D)."""

import flet as ft

from app_kit.hooks import tagged
from dispatcher_app.state.app import DispatcherAppState


@ft.component
def kpis_panel(app: DispatcherAppState) -> ft.Control:
    return tagged("kpis", ft.Text("KPIs"), expand=True)
