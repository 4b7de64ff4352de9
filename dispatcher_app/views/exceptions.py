"""The exceptions inbox: each item in words, newest first, with a reload."""

import flet as ft

from app_kit.hooks import tagged, use_observable
from dispatcher_app.logic.exceptions import ExceptionLine, exception_line
from dispatcher_app.state.app import DispatcherAppState


def _line(line: ExceptionLine) -> ft.Control:
    return tagged(
        "exception-item",
        ft.Container(
            padding=ft.Padding.symmetric(vertical=8, horizontal=12),
            border=ft.Border.only(bottom=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)),
            content=ft.Row(
                [
                    ft.Icon(ft.Icons.WARNING_AMBER, color=ft.Colors.AMBER),
                    ft.Column(
                        [
                            ft.Text(f"{line.title} · {line.subject}", weight=ft.FontWeight.BOLD),
                            ft.Text(line.detail),
                        ],
                        spacing=2,
                        expand=True,
                    ),
                    ft.Text(line.at),
                ]
            ),
        ),
    )


@ft.component
def exceptions_panel(app: DispatcherAppState) -> ft.Control:
    inbox = app.exceptions
    use_observable(inbox)
    names = app.drivers.names
    lines = [_line(exception_line(i, driver_names=names, tz=app.tz)) for i in inbox.items]
    if not lines and not inbox.loading:
        lines = [tagged("no-exceptions", ft.Text("Nothing needs you right now.", italic=True))]
    return tagged(
        "exceptions",
        ft.Column(
            expand=True,
            controls=[
                ft.Row(
                    [
                        ft.Text(f"Exceptions ({inbox.count})", size=18, expand=True),
                        tagged(
                            "exceptions-reload",
                            ft.IconButton(ft.Icons.REFRESH, tooltip="Reload", on_click=inbox.load),
                        ),
                    ]
                ),
                *([ft.ProgressBar()] if inbox.loading else []),
                *(
                    [tagged("exceptions-error", ft.Text(inbox.error, color=ft.Colors.ERROR))]
                    if inbox.error
                    else []
                ),
                ft.ListView(controls=lines, expand=True),
            ],
        ),
        expand=True,
    )
