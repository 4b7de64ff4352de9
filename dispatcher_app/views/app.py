"""The root component: the sign-in form until signed in, then the sections of the day."""

import flet as ft

from app_kit.hooks import tagged, use_observable
from app_kit.login_view import login_view
from dispatcher_app.state.app import DispatcherAppState
from dispatcher_app.state.navigation import Section
from dispatcher_app.views.assign import plan_panel
from dispatcher_app.views.drivers import drivers_panel
from dispatcher_app.views.exceptions import exceptions_panel
from dispatcher_app.views.fleet_map import fleet_map_panel
from dispatcher_app.views.kpis import kpis_panel
from dispatcher_app.views.orders import orders_panel
from dispatcher_app.views.sections import section_bar


def _section(app: DispatcherAppState) -> ft.Control:
    match app.nav.section:
        case Section.MAP:
            return fleet_map_panel(app)
        case Section.ORDERS:
            return ft.Row(
                expand=True,
                vertical_alignment=ft.CrossAxisAlignment.START,
                controls=[
                    orders_panel(app),
                    ft.VerticalDivider(width=1),
                    drivers_panel(app.drivers),
                ],
            )
        case Section.PLAN:
            return plan_panel(app)
        case Section.EXCEPTIONS:
            return exceptions_panel(app)
        case Section.KPIS:
            return kpis_panel(app)


@ft.component
def dispatcher_app_view(app: DispatcherAppState) -> ft.Control:
    use_observable(app.session)
    use_observable(app.nav)
    user = app.session.user
    if user is None:
        return login_view(
            app.session, app.login, title="Lastmile dispatch", subtitle="Sign in to dispatch."
        )
    return ft.Column(
        expand=True,
        controls=[
            ft.Row(
                [
                    ft.Text("Lastmile dispatch", size=22, weight=ft.FontWeight.BOLD),
                    ft.Container(section_bar(app), expand=True),
                    ft.Text(user.full_name or user.email),
                    tagged(
                        "refresh",
                        ft.IconButton(ft.Icons.REFRESH, tooltip="Refresh", on_click=app.refresh),
                    ),
                    tagged("logout", ft.TextButton("Sign out", on_click=app.logout)),
                ]
            ),
            _section(app),
        ],
    )
