"""The bar that switches between the app's sections, with the exceptions' count badge."""

import flet as ft

from app_kit.hooks import tagged, use_observable
from dispatcher_app.state.app import DispatcherAppState
from dispatcher_app.state.navigation import SECTION_LABELS, Section

_ICONS = {
    Section.MAP: ft.Icons.MAP,
    Section.ORDERS: ft.Icons.LIST_ALT,
    Section.PLAN: ft.Icons.ROUTE,
    Section.EXCEPTIONS: ft.Icons.WARNING_AMBER,
    Section.KPIS: ft.Icons.INSIGHTS,
}


def _button(app: DispatcherAppState, section: Section, badge: int) -> ft.Control:
    chosen = app.nav.section is section
    label = SECTION_LABELS[section]
    icon = ft.Icon(
        _ICONS[section],
        badge=ft.Badge(label=tagged("exceptions-badge", ft.Text(str(badge)))) if badge else None,
    )
    style = ft.ButtonStyle(
        bgcolor=ft.Colors.SECONDARY_CONTAINER if chosen else None,
    )
    return tagged(
        f"nav-{section.value}",
        ft.TextButton(
            content=ft.Row([icon, ft.Text(label)], tight=True, spacing=6),
            style=style,
            on_click=lambda _: app.nav.go(section),
        ),
    )


@ft.component
def section_bar(app: DispatcherAppState) -> ft.Control:
    use_observable(app.nav)
    use_observable(app.exceptions)
    return ft.Row(
        [_button(app, s, app.exceptions.count if s is Section.EXCEPTIONS else 0) for s in Section],
        spacing=4,
    )
