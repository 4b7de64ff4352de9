"""The root component: the sign-in form until signed in, then today's stops."""

import flet as ft

from app_kit.hooks import use_observable
from app_kit.login_view import login_view
from driver_app.state.app import DriverAppState
from driver_app.views.today import today_view


@ft.component
def driver_app_view(app: DriverAppState) -> ft.Control:
    use_observable(app.session)
    if not app.session.signed_in:
        return login_view(
            app.session,
            app.login,
            title="Lastmile driver",
            subtitle="Sign in to see today's stops.",
        )
    return today_view(app)
