"""The exceptions inbox: each item in words, newest first, with the actions that resolve
it (reassign in the orders grid, a new window, a call, mark resolved)."""

import flet as ft

from app_kit.hooks import tagged, use_observable
from dispatcher_app.logic.exceptions import (
    ExceptionLine,
    day_choices,
    exception_line,
    slot_choices,
)
from dispatcher_app.state.app import DispatcherAppState
from shared.schemas.exceptions import ExceptionAction as A

_ICONS = {
    "failed_delivery": (ft.Icons.ERROR_OUTLINE, ft.Colors.RED),
    "late_risk": (ft.Icons.SCHEDULE, ft.Colors.ORANGE),
    "driver_silent": (ft.Icons.SIGNAL_WIFI_OFF, ft.Colors.PURPLE),
    "off_route": (ft.Icons.ALT_ROUTE, ft.Colors.AMBER),
}


@ft.component
def reschedule_picker(app: DispatcherAppState, key: str) -> ft.Control:
    """The day and two-hour window of a new delivery slot, then Reschedule."""
    inbox = app.exceptions
    days = day_choices(app.today)
    day, set_day = ft.use_state(days[1].key)
    slot, set_slot = ft.use_state(slot_choices()[1].key)

    async def confirm() -> None:
        await inbox.reschedule_to(key, day, slot, app.tz)

    return tagged(
        "reschedule-picker",
        ft.Row(
            wrap=True,
            controls=[
                tagged(
                    "reschedule-day",
                    ft.Dropdown(
                        label="Day",
                        value=day,
                        width=200,
                        on_select=lambda e: set_day(e.control.value),
                        options=[ft.DropdownOption(key=c.key, text=c.label) for c in days],
                    ),
                ),
                tagged(
                    "reschedule-slot",
                    ft.Dropdown(
                        label="Window",
                        value=slot,
                        width=160,
                        on_select=lambda e: set_slot(e.control.value),
                        options=[
                            ft.DropdownOption(key=c.key, text=c.label) for c in slot_choices()
                        ],
                    ),
                ),
                tagged(
                    "reschedule-confirm",
                    ft.FilledButton(
                        "Reschedule", on_click=confirm, disabled=inbox.busy is not None
                    ),
                ),
                tagged(
                    "reschedule-cancel",
                    ft.TextButton("Cancel", on_click=lambda _: inbox.start_reschedule(None)),
                ),
            ],
        ),
    )


def _actions(app: DispatcherAppState, line: ExceptionLine) -> list[ft.Control]:
    inbox = app.exceptions
    busy = inbox.busy is not None
    buttons: list[ft.Control] = []

    async def reassign() -> None:
        inbox.open_for_reassign(line.key, app.nav, app.assign)

    async def resolve() -> None:
        await inbox.resolve(line.key)

    if A.REASSIGN in line.actions:
        buttons.append(
            tagged(
                "exception-reassign",
                ft.TextButton(
                    "Reassign", icon=ft.Icons.SWAP_HORIZ, on_click=reassign, disabled=busy
                ),
            )
        )
    if A.RESCHEDULE in line.actions:
        buttons.append(
            tagged(
                "exception-reschedule",
                ft.TextButton(
                    "Reschedule",
                    icon=ft.Icons.EVENT,
                    on_click=lambda _: inbox.start_reschedule(line.key),
                    disabled=busy,
                ),
            )
        )
    if A.CALL in line.actions and line.call_url:
        buttons.append(
            tagged(
                "exception-call",
                ft.TextButton("Call", icon=ft.Icons.PHONE, url=line.call_url),
            )
        )
    if A.RESOLVE in line.actions:
        buttons.append(
            tagged(
                "exception-resolve",
                ft.TextButton(
                    "Mark resolved", icon=ft.Icons.CHECK, on_click=resolve, disabled=busy
                ),
            )
        )
    return buttons


def _card(app: DispatcherAppState, line: ExceptionLine) -> ft.Control:
    icon, colour = _ICONS.get(line.kind, (ft.Icons.WARNING_AMBER, ft.Colors.AMBER))
    texts: list[ft.Control] = [
        ft.Text(f"{line.title} · {line.subject}", weight=ft.FontWeight.BOLD),
    ]
    if line.detail:
        texts.append(ft.Text(line.detail))
    if line.people:
        texts.append(ft.Text(line.people, size=12, color=ft.Colors.ON_SURFACE_VARIANT))
    if line.resolved:
        texts.append(ft.Text(line.resolved, size=12, italic=True, color=ft.Colors.GREEN))
    texts.append(ft.Text(line.at, size=12, color=ft.Colors.ON_SURFACE_VARIANT))
    # The words in a node of their own: read as text, not folded into the buttons' group.
    parts: list[ft.Control] = [tagged("exception-text", ft.Column(texts, spacing=2))]
    actions = _actions(app, line)
    if actions:
        parts.append(ft.Row(actions, spacing=0, wrap=True))
    if app.exceptions.rescheduling == line.key:
        parts.append(reschedule_picker(app, line.key))
    return tagged(
        "exception-item",
        ft.Container(
            padding=ft.Padding.symmetric(vertical=8, horizontal=12),
            border=ft.Border.only(bottom=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)),
            opacity=0.6 if line.resolved else 1.0,
            content=ft.Row(
                vertical_alignment=ft.CrossAxisAlignment.START,
                controls=[
                    ft.Icon(icon, color=colour),
                    ft.Column(parts, spacing=2, expand=True),
                ],
            ),
        ),
    )


@ft.component
def exceptions_panel(app: DispatcherAppState) -> ft.Control:
    inbox = app.exceptions
    use_observable(inbox)
    today = app.today
    lines = [_card(app, exception_line(i, tz=app.tz, today=today)) for i in inbox.items]
    if not lines and inbox.loaded:
        lines = [tagged("no-exceptions", ft.Text("Nothing needs you right now.", italic=True))]

    async def show_resolved(e: ft.Event[ft.Checkbox]) -> None:
        await inbox.show_resolved(bool(e.control.value))

    return tagged(
        "exceptions",
        ft.Column(
            expand=True,
            controls=[
                ft.Row(
                    [
                        tagged(
                            "exceptions-title",
                            ft.Text(f"Exceptions ({inbox.count} open)", size=18),
                        ),
                        ft.Container(expand=True),
                        tagged(
                            "exceptions-show-resolved",
                            ft.Checkbox(
                                label="Show resolved",
                                value=inbox.include_resolved,
                                on_change=show_resolved,
                            ),
                        ),
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
                *(
                    [tagged("exceptions-notice", ft.Text(inbox.notice, color=ft.Colors.GREEN))]
                    if inbox.notice
                    else []
                ),
                ft.ListView(controls=lines, expand=True),
            ],
        ),
        expand=True,
    )
