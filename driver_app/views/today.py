"""Today's stops, the next one first and prominent, with the shift switch; what a live
update changed is outlined and named until the driver taps "Got it"."""

from collections.abc import Callable
from datetime import UTC, tzinfo

import flet as ft

from app_kit.hooks import tagged, use_observable
from app_kit.time_windows import format_window
from driver_app.logic.changes import Change, change_label
from driver_app.logic.navigation import NavPlatform, nav_platform, navigation_url
from driver_app.logic.route_map import map_stops
from driver_app.logic.shift import SHIFT_CHOICES, shift_choice, shift_label
from driver_app.logic.stops import StopLine, eta_label, parcels_label, stop_status_label
from driver_app.state.app import DriverAppState
from driver_app.state.today import TodayState
from driver_app.views.mqtt_settings import mqtt_settings_button, mqtt_settings_panel
from driver_app.views.route_map import route_map_view
from driver_app.views.stop_flow import stop_flow_button, stop_flow_view
from driver_app.views.sync_strip import sync_strip
from shared.enums import DriverStatus, StopKind


@ft.component
def shift_toggle(today: TodayState) -> ft.Control:
    if today.driver is None:
        return ft.Container()
    current = shift_choice(today.driver.status)

    async def changed(e: ft.Event[ft.SegmentedButton]) -> None:
        chosen = DriverStatus(e.control.selected[0])
        if chosen != current:
            await today.set_shift(chosen)

    return tagged(
        "shift-toggle",
        ft.SegmentedButton(
            selected=[current.value],
            disabled=today.shift_busy,
            on_change=changed,
            segments=[
                ft.Segment(value=status.value, label=ft.Text(shift_label(status)))
                for status in SHIFT_CHOICES
            ],
        ),
    )


def navigate_button(line: StopLine, platform: NavPlatform) -> ft.Control:
    """Opens the stop in the phone's navigation app (a new tab with directions on the web)."""
    stop = line.stop
    url = navigation_url(stop.lat, stop.lng, stop.address, platform)
    return tagged(
        "navigate",
        ft.FilledButton("Navigate", icon=ft.Icons.NAVIGATION, url=url),
    )


def stop_row(
    line: StopLine,
    number: int,
    window: str,
    *,
    is_next: bool,
    changes: frozenset[Change] = frozenset(),
    platform: NavPlatform = NavPlatform.OTHER,
    on_open: Callable[[StopLine], None] | None = None,
    tz: tzinfo = UTC,
    waiting: bool = False,
) -> ft.Control:
    stop = line.stop
    kind = "Pickup" if stop.kind is StopKind.PICKUP else "Dropoff"
    who = line.order.recipient_name if line.order is not None else ""
    parts = (window, eta_label(line, tz), kind, who, parcels_label(line))
    details = " · ".join(part for part in parts if part)
    status = stop_status_label(line)
    muted = ft.Colors.ON_SURFACE_VARIANT if line.finished else None
    header: list[ft.Control] = [ft.Text(f"{number}.", weight=ft.FontWeight.BOLD, color=muted)]
    if is_next:
        header.append(ft.Text("NEXT STOP", weight=ft.FontWeight.BOLD, color=ft.Colors.PRIMARY))
    header.append(ft.Text(status, color=muted))
    if waiting:  # done on the phone; the queue has not got it to the server yet
        header.append(ft.Text("not sent yet", italic=True, color=muted))
    body = ft.Column(
        spacing=4,
        controls=[
            ft.Row(header, spacing=12),
            ft.Text(
                stop.address,
                size=22 if is_next else 16,
                weight=ft.FontWeight.BOLD if is_next else None,
                color=muted,
            ),
            ft.Text(details, color=muted),
        ],
    )
    instructions = line.order.instructions if line.order is not None else ""
    if instructions and not line.finished:
        body.controls.append(tagged("stop-instructions", ft.Text(instructions, italic=True)))
    notes = line.order.notes if line.order is not None else ""
    if notes and not line.finished:
        body.controls.append(tagged("stop-notes", ft.Text(f"Note: {notes}")))
    border = None if is_next else ft.Border.all(1, ft.Colors.OUTLINE_VARIANT)
    if changes:  # outlined and named until the driver taps "Got it"
        label = ft.Text(change_label(changes), weight=ft.FontWeight.BOLD, color=ft.Colors.TERTIARY)
        body.controls.insert(0, tagged("stop-changed", label))
        border = ft.Border.all(3, ft.Colors.TERTIARY)
    row = tagged(
        "stop-row",
        ft.Container(
            content=body,
            padding=20 if is_next else 12,
            border_radius=12,
            bgcolor=ft.Colors.PRIMARY_CONTAINER if is_next else None,
            border=border,
        ),
    )
    # Every row is a "stop-row"; the next one also sits inside a "next-stop" node, with the
    # navigation hand-off under it (outside the row, which reads as one piece of text).
    if not is_next:
        return row
    buttons = [navigate_button(line, platform)]
    if on_open is not None:  # "At the stop": arrive, scan, proof, done
        buttons.append(stop_flow_button(line, on_open))
    return tagged("next-stop", ft.Column([row, ft.Row(buttons, spacing=12)], spacing=8))


def changes_banner(today: TodayState) -> list[ft.Control]:
    """The notices of the last updates and the button that says they were seen."""
    if not today.changed and not today.notices:
        return []
    texts: list[ft.Control] = [ft.Text(notice) for notice in today.notices]
    if today.changed:
        texts.append(ft.Text("Your stops changed: see the outlined ones."))
    return [
        tagged(
            "live-changes",
            ft.Container(
                padding=12,
                border_radius=12,
                bgcolor=ft.Colors.TERTIARY_CONTAINER,
                content=ft.Row(
                    [
                        ft.Column(texts, spacing=4, expand=True),
                        tagged(
                            "changes-seen",
                            ft.TextButton("Got it", on_click=today.acknowledge_changes),
                        ),
                    ]
                ),
            ),
        )
    ]


@ft.component
def today_view(app: DriverAppState) -> ft.Control:
    today, session, live = app.today, app.session, app.live
    use_observable(app)
    use_observable(today)
    use_observable(live)
    if app.stop_flow is not None:
        return stop_flow_view(app.stop_flow)
    name = (session.user.full_name or session.user.email) if session.user else ""
    page = ft.context.page
    platform = nav_platform(page.platform.value if page.platform else None, page.web)

    rows: list[ft.Control] = [
        stop_row(
            line,
            i + 1,
            format_window(
                line.stop.window_start, line.stop.window_end, tz=today.tz, today=today.service_date
            ),
            is_next=i == today.next_index,
            changes=today.changed.get(line.stop.id, frozenset()),
            platform=platform,
            on_open=app.open_stop if app.offline is not None else None,
            tz=today.tz,
            waiting=line.stop.order_id in today.waiting,
        )
        for i, line in enumerate(today.lines)
    ]
    if today.loaded and not today.lines:
        rows = [tagged("no-stops", ft.Text("No stops planned for today."))]
    elif today.loaded and today.next_index is None:
        rows.insert(0, tagged("day-done", ft.Text("All stops done for today.", size=18)))

    return ft.Column(
        expand=True,
        controls=[
            ft.Row(
                [
                    ft.Column(
                        [
                            ft.Text("Today's stops", size=24, weight=ft.FontWeight.BOLD),
                            ft.Text(f"{name} · {today.service_date:%A %d %B}"),
                        ],
                        spacing=2,
                        expand=True,
                    ),
                    tagged(
                        "show-map",
                        ft.IconButton(
                            ft.Icons.LIST if app.showing_map else ft.Icons.MAP,
                            tooltip="List" if app.showing_map else "Map",
                            on_click=app.toggle_map,
                        ),
                    ),
                    tagged(
                        "stops-refresh",
                        ft.IconButton(ft.Icons.REFRESH, tooltip="Refresh", on_click=today.load),
                    ),
                    *(
                        [mqtt_settings_button(app.offline.mqtt_settings)]
                        if app.offline is not None
                        else []
                    ),
                    tagged("logout", ft.TextButton("Sign out", on_click=app.logout)),
                ],
            ),
            shift_toggle(today),
            *(
                [
                    mqtt_settings_panel(app.offline.mqtt_settings),
                    sync_strip(app.offline, today.tz, socket_down=live.retrying),
                ]
                if app.offline is not None
                else []
            ),
            *(
                [tagged("live-offline", ft.Text("Live updates paused: reconnecting…"))]
                if live.retrying
                else []
            ),
            *changes_banner(today),
            *([ft.ProgressBar()] if today.loading else []),
            *(
                [tagged("today-error", ft.Text(today.error, color=ft.Colors.ERROR))]
                if today.error
                else []
            ),
            (
                route_map_view(
                    app.route_map, map_stops(today.lines, today.next_index), app.position
                )
                if app.showing_map
                else ft.ListView(controls=rows, spacing=8, expand=True)
            ),
        ],
    )
