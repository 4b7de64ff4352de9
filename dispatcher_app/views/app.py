"""The root component: the sign-in form until signed in, then orders and drivers."""

import flet as ft

from app_kit.hooks import tagged, use_observable
from app_kit.login_view import login_view
from dispatcher_app.state.app import DispatcherAppState
from dispatcher_app.views.drivers import drivers_panel
from dispatcher_app.views.orders import orders_panel
from dispatcher_app.views.planning import planning_bar


@ft.component
def dispatcher_app_view(app: DispatcherAppState) -> ft.Control:
    use_observable(app.session)
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
                    ft.Text("Orders", size=24, weight=ft.FontWeight.BOLD, expand=True),
                    ft.Text(user.full_name or user.email),
                    tagged(
                        "refresh",
                        ft.IconButton(ft.Icons.REFRESH, tooltip="Refresh", on_click=app.refresh),
                    ),
                    tagged("logout", ft.TextButton("Sign out", on_click=app.logout)),
                ]
            ),
            planning_bar(app),
            ft.Row(
                expand=True,
                vertical_alignment=ft.CrossAxisAlignment.START,
                controls=[
                    orders_panel(app),
                    ft.VerticalDivider(width=1),
                    drivers_panel(app.drivers),
                ],
            ),
        ],
    )
