"""Above the stops: what waits in the phone's queue, the network, the GPS (and how positions
leave, when MQTT is set up), and the actions the server refused (each with the reason in
plain words, until the driver dismisses it)."""

from datetime import tzinfo

import flet as ft

from app_kit.hooks import tagged, use_observable
from driver_app.logic.fix_transport import Transport, transport_summary
from driver_app.logic.sync_status import gps_summary, offline_notice, queue_summary
from driver_app.state.fix_sender import FallbackFixSender
from driver_app.state.gps import GpsState, GpsStreamer
from driver_app.state.offline import OfflineWork
from driver_app.state.sync import SyncLoop


@ft.component
def gps_line(gps: GpsStreamer) -> ft.Control:
    use_observable(gps)
    return _gps_text(gps.state, gps.message)


def _gps_text(state: GpsState | None, message: str | None) -> ft.Control:
    trouble = state in (GpsState.UNAVAILABLE, GpsState.SEARCHING)
    return tagged(
        "gps-status",
        ft.Row(
            [
                ft.Icon(
                    ft.Icons.GPS_OFF if trouble or state is None else ft.Icons.GPS_FIXED,
                    size=16,
                    color=ft.Colors.ERROR if trouble else None,
                ),
                ft.Text(gps_summary(state, message), expand=True),
            ],
            spacing=6,
        ),
    )


@ft.component
def transport_line(fixes: FallbackFixSender, tz: tzinfo) -> ft.Control:
    use_observable(fixes)
    if not fixes.mqtt_on:
        return ft.Container(visible=False)  # over HTTP, as always: nothing to say
    over_http = fixes.transport is Transport.HTTP
    text = transport_summary(fixes.transport, fixes.reason, fixes.mqtt_again_at, tz)
    return tagged(
        "sync-transport",
        ft.Row(
            [
                ft.Icon(ft.Icons.SYNC_PROBLEM if over_http else ft.Icons.CELL_TOWER, size=16),
                ft.Text(text, expand=True),
            ],
            spacing=6,
        ),
    )


def _problem(sync: SyncLoop, client_id: str, message: str) -> ft.Control:
    async def dismiss(_: ft.Event[ft.TextButton]) -> None:
        await sync.dismiss(client_id)

    return tagged(
        "sync-conflict",
        ft.Container(
            padding=12,
            border_radius=12,
            bgcolor=ft.Colors.ERROR_CONTAINER,
            content=ft.Row(
                [
                    ft.Text(message, color=ft.Colors.ON_ERROR_CONTAINER, expand=True),
                    tagged("sync-dismiss", ft.TextButton("OK", on_click=dismiss)),
                ]
            ),
        ),
    )


@ft.component
def sync_strip(work: OfflineWork, tz: tzinfo, *, socket_down: bool = False) -> ft.Control:
    """``socket_down``: the live socket lost the server, so the next send will fail too."""
    sync = work.sync
    use_observable(sync)
    controls: list[ft.Control] = []
    offline = offline_notice(False if socket_down else sync.online, sync.retry_at, tz)
    if offline is not None:
        controls.append(tagged("sync-offline", ft.Text(offline, weight=ft.FontWeight.BOLD)))
    waiting = queue_summary(sync.pending, sync.pending_fixes)
    if waiting is not None:
        controls.append(
            tagged(
                "sync-pending",
                ft.Row([ft.Icon(ft.Icons.CLOUD_UPLOAD, size=16), ft.Text(waiting)], spacing=6),
            )
        )
    elif sync.loaded and offline is None:
        controls.append(tagged("sync-done", ft.Text("Everything is sent.")))
    if sync.last_error is not None and offline is None:
        controls.append(tagged("sync-error", ft.Text(sync.last_error, color=ft.Colors.ERROR)))
    controls.append(gps_line(work.gps) if work.gps is not None else _gps_text(None, None))
    controls.append(transport_line(work.fixes, tz))
    controls.extend(
        _problem(sync, item.client_id, item.message or "The server refused this action.")
        for item in sync.problems
    )
    return tagged("sync-strip", ft.Column(controls, spacing=6))
