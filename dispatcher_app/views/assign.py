"""Assign the selected orders to a driver, with the preview (placeholder: helper C)."""

import flet as ft

from dispatcher_app.state.app import DispatcherAppState


@ft.component
def assign_toolbar(app: DispatcherAppState) -> ft.Control:
    """Buttons shown above the orders grid when orders are selected."""
    return ft.Row([])


@ft.component
def plan_panel(app: DispatcherAppState) -> ft.Control:
    """The Plan section: optimise the day, compare, publish; edit a route with a preview."""
    from dispatcher_app.views.planning import planning_bar

    return ft.Column([planning_bar(app)], expand=True)
