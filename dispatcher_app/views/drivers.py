"""The drivers panel: every driver and their status."""

import flet as ft

from app_kit.hooks import tagged, use_observable
from app_kit.labels import status_label
from dispatcher_app.state.drivers import DriversState
from shared.enums import DriverStatus
from shared.schemas.fleet import DriverOut

_STATUS_COLORS = {
    DriverStatus.OFFLINE: ft.Colors.GREY,
    DriverStatus.IDLE: ft.Colors.GREEN,
    DriverStatus.EN_ROUTE: ft.Colors.BLUE,
    DriverStatus.DELIVERING: ft.Colors.INDIGO,
    DriverStatus.ON_BREAK: ft.Colors.AMBER,
}


def driver_line(driver: DriverOut) -> ft.Control:
    return tagged(
        "driver-row",
        ft.Container(
            padding=ft.Padding.symmetric(vertical=6, horizontal=8),
            content=ft.Row(
                [
                    ft.Icon(ft.Icons.CIRCLE, size=12, color=_STATUS_COLORS[driver.status]),
                    ft.Text(driver.name, expand=True),
                    ft.Text(status_label(driver.status)),
                ]
            ),
        ),
    )


@ft.component
def drivers_panel(drivers: DriversState) -> ft.Control:
    use_observable(drivers)
    lines: list[ft.Control] = [driver_line(driver) for driver in drivers.drivers]
    return ft.Column(
        width=300,
        controls=[
            ft.Text(f"Drivers ({len(drivers.drivers)})", size=18, weight=ft.FontWeight.BOLD),
            *(
                [tagged("drivers-error", ft.Text(drivers.error, color=ft.Colors.ERROR))]
                if drivers.error
                else []
            ),
            ft.ListView(controls=lines, expand=True),
        ],
    )
