"""The live map (flet-map): zones and depots, every driver as an arrow in their status
colour pointing where they head (grey once not heard from for two minutes), the selected
driver's route and its stops in their order's colour. Markers and lines are drawn on a
plain background when the tiles cannot load, and a caption says so.

A click on a driver opens their card beside the map: status, last seen, phone (a ``tel:``
link), the route's stops in order with ETA and window. A click on a stop (on the map or in
the card) shows its order in the card, with "Open in orders" to find it in the orders grid:
the dispatcher keeps the map in view while checking a stop, and goes to the grid only to
act on the order.
"""

import math
from datetime import datetime, tzinfo

import flet as ft
import flet_map as fm

from app_kit.hooks import tagged, use_observable
from dispatcher_app.logic.fleet_map import (
    LatLng,
    Position,
    Tone,
    arrow_turns,
    driver_tone,
    fit_points,
    route_stops,
    seen_ago,
    stop_time,
    stop_tone,
)
from dispatcher_app.state.app import DispatcherAppState
from dispatcher_app.state.fleet_map import FleetMapState
from dispatcher_app.state.navigation import Section
from shared.enums import ZoneKind
from shared.schemas.fleet import DriverOut
from shared.schemas.orders import StopOut

_PAINT = {
    Tone.MOVING: ft.Colors.BLUE_700,
    Tone.WORKING: ft.Colors.GREEN_700,
    Tone.IDLE: ft.Colors.TEAL_400,
    Tone.PAUSED: ft.Colors.AMBER_700,
    Tone.OFF: ft.Colors.BLUE_GREY_400,
    Tone.STALE: ft.Colors.GREY_500,
    Tone.DONE: ft.Colors.GREY_500,
    Tone.TROUBLE: ft.Colors.RED_700,
    Tone.WAITING: ft.Colors.ORANGE_800,
}


def _at(point: LatLng) -> fm.MapLatitudeLongitude:
    return fm.MapLatitudeLongitude(point[0], point[1])


def _hhmm(at: datetime | None, tz: tzinfo) -> str:
    return "—" if at is None else at.astimezone(tz).strftime("%H:%M")


def _window(stop: StopOut, tz: tzinfo) -> str:
    if stop.window_start is None and stop.window_end is None:
        return "any time"
    return f"{_hhmm(stop.window_start, tz)}-{_hhmm(stop.window_end, tz)}"


def _driver_marker(
    state: FleetMapState, driver: DriverOut | None, p: Position, now: datetime
) -> fm.Marker:
    status = driver.status if driver else None
    tone = driver_tone(status, p.recorded_at, now) if status else Tone.STALE
    selected = state.selected == p.driver_id
    size = 30 if selected else 24
    name = driver.name if driver else f"Driver {p.driver_id}"
    return fm.Marker(
        coordinates=fm.MapLatitudeLongitude(p.lat, p.lng),
        width=size,
        height=size,
        content=tagged(
            "map-driver",
            ft.Container(
                width=size,
                height=size,
                border_radius=size / 2,
                bgcolor=_PAINT[tone],
                border=ft.Border.all(3 if selected else 2, ft.Colors.WHITE),
                alignment=ft.Alignment.CENTER,
                tooltip=f"{name} · {seen_ago(p.recorded_at, now)}",
                on_click=lambda _, d=p.driver_id: state.select(d),
                content=ft.Icon(
                    ft.Icons.NAVIGATION,
                    size=size * 0.6,
                    color=ft.Colors.WHITE,
                    rotate=ft.Rotate(angle=math.tau * arrow_turns(p.heading_deg)),
                ),
            ),
        ),
    )


def _stop_marker(state: FleetMapState, stop: StopOut, number: int) -> fm.Marker:
    tone = stop_tone(state.order_status.get(stop.order_id))
    return fm.Marker(
        coordinates=fm.MapLatitudeLongitude(stop.lat, stop.lng),
        width=24,
        height=24,
        content=tagged(
            "map-stop",
            ft.Container(
                width=24,
                height=24,
                border_radius=4,
                bgcolor=_PAINT[tone],
                border=ft.Border.all(2, ft.Colors.WHITE),
                alignment=ft.Alignment.CENTER,
                tooltip=stop.address,
                on_click=lambda _, s=stop: state.select_stop(s),
                content=ft.Text(str(number), size=11, color=ft.Colors.WHITE),
            ),
        ),
    )


def _depot_marker(lat: float, lng: float, name: str) -> fm.Marker:
    return fm.Marker(
        coordinates=fm.MapLatitudeLongitude(lat, lng),
        width=28,
        height=28,
        content=tagged(
            "map-depot",
            ft.Container(
                width=28,
                height=28,
                border_radius=6,
                bgcolor=ft.Colors.BROWN_600,
                tooltip=name,
                alignment=ft.Alignment.CENTER,
                content=ft.Icon(ft.Icons.WAREHOUSE, size=16, color=ft.Colors.WHITE),
            ),
        ),
    )


def _layers(state: FleetMapState, now: datetime) -> list[fm.MapLayer]:
    layers: list[fm.MapLayer] = [
        fm.TileLayer(
            url_template=state.tile_url,
            max_native_zoom=18,
            on_image_error=lambda _: state.tiles_failed_once(),
        )
    ]
    polygons = [
        fm.PolygonMarker(
            coordinates=[_at(p) for p in z.points],
            color=ft.Colors.with_opacity(
                0.15, ft.Colors.RED if z.kind is ZoneKind.RESTRICTED else ft.Colors.INDIGO
            ),
            border_color=ft.Colors.RED_400 if z.kind is ZoneKind.RESTRICTED else ft.Colors.INDIGO,
            border_stroke_width=2,
            label=z.name,
        )
        for z in state.zones
        if z.kind is not ZoneKind.CORRIDOR
    ]
    if polygons:
        layers.append(fm.PolygonLayer(polygons=polygons))
    lines = [
        fm.PolylineMarker(
            coordinates=[_at(p) for p in z.points],
            color=ft.Colors.with_opacity(0.25, ft.Colors.INDIGO),
            stroke_width=8,
        )
        for z in state.zones
        if z.kind is ZoneKind.CORRIDOR
    ]
    if len(state.path) >= 2:
        lines.append(
            fm.PolylineMarker(
                coordinates=[_at(p) for p in state.path], color=ft.Colors.BLUE_700, stroke_width=4
            )
        )
    if lines:
        layers.append(fm.PolylineLayer(polylines=lines))
    markers = [_depot_marker(d.lat, d.lng, d.name) for d in state.depots]
    route = state.route
    if route is not None:
        markers += [_stop_marker(state, s, i + 1) for i, s in enumerate(route_stops(route.stops))]
    markers += [
        _driver_marker(state, state.drivers.get(p.driver_id), p, now)
        for p in state.positions.values()
    ]
    layers.append(fm.MarkerLayer(markers=markers))
    layers.append(fm.SimpleAttribution(text=state.attribution.removeprefix("©").strip()))
    return layers


def _everything(state: FleetMapState) -> list[LatLng]:
    points = [(p.lat, p.lng) for p in state.positions.values()]
    points += [(d.lat, d.lng) for d in state.depots]
    for route in state.routes.values():
        points += [(s.lat, s.lng) for s in route.stops]
    return fit_points(points)


@ft.component
def _map(state: FleetMapState) -> ft.Control:
    use_observable(state)
    now = state.now()
    fit = _everything(state)
    camera = (
        fm.CameraFit(coordinates=[_at(p) for p in fit], max_zoom=15, padding=ft.Padding.all(48))
        if fit
        else None
    )
    return tagged(
        "fleet-map",
        ft.Container(
            expand=True,
            border_radius=12,
            clip_behavior=ft.ClipBehavior.HARD_EDGE,
            content=fm.Map(
                key="fitted" if fit else "empty",  # fit the camera once something is known
                expand=True,
                bgcolor=ft.Colors.BLUE_GREY_50,
                initial_center=_at(fit[0]) if fit else fm.MapLatitudeLongitude(0, 0),
                initial_zoom=12,
                initial_camera_fit=camera,
                layers=_layers(state, now),
            ),
        ),
        expand=True,
    )


@ft.component
def _status_line(state: FleetMapState, tz: tzinfo) -> ft.Control:
    use_observable(state)
    parts = [f"{state.count} drivers", f"{state.updates} updates"]
    if state.updated_at is not None:
        parts.append(f"last {_hhmm(state.updated_at, tz)}:{state.updated_at.second:02d}")
    parts.append("live" if state.connected else "reconnecting…")
    if state.tiles_failed:
        parts.append("map tiles unavailable: markers on a plain background")
    if state.error:
        parts.append(state.error)
    return tagged(
        "map-updated",
        ft.Text(" · ".join(parts), size=12, color=ft.Colors.ON_SURFACE_VARIANT),
    )


def _stop_row(state: FleetMapState, stop: StopOut, number: int, tz: tzinfo) -> ft.Control:
    tone = stop_tone(state.order_status.get(stop.order_id))
    window = _window(stop, tz)
    status = state.order_status.get(stop.order_id)
    return tagged(
        "driver-card-stop",
        ft.Container(
            on_click=lambda _: state.select_stop(stop),
            padding=ft.Padding.symmetric(vertical=4, horizontal=6),
            border_radius=6,
            content=ft.Row(
                [
                    ft.Container(
                        width=22,
                        height=22,
                        border_radius=4,
                        bgcolor=_PAINT[tone],
                        alignment=ft.Alignment.CENTER,
                        content=ft.Text(str(number), size=11, color=ft.Colors.WHITE),
                    ),
                    ft.Column(
                        spacing=0,
                        expand=True,
                        controls=[
                            ft.Text(stop.address, size=13, max_lines=1),
                            ft.Text(
                                f"ETA {_hhmm(stop_time(stop), tz)} · window {window}"
                                + (f" · {status.value.replace('_', ' ')}" if status else ""),
                                size=11,
                                color=ft.Colors.ON_SURFACE_VARIANT,
                            ),
                        ],
                    ),
                ]
            ),
        ),
    )


def _order_details(app: DispatcherAppState, stop: StopOut) -> ft.Control:
    state = app.fleet
    reference = state.references.get(stop.order_id) or f"#{stop.order_id}"
    status = state.order_status.get(stop.order_id)

    async def open_in_orders(_: ft.Event[ft.Button]) -> None:
        app.nav.go(Section.ORDERS)
        await app.orders.search(reference.removeprefix("#"))

    return tagged(
        "stop-card",
        ft.Column(
            spacing=4,
            controls=[
                ft.Text(f"Order {reference}", weight=ft.FontWeight.BOLD),
                ft.Text(status.value.replace("_", " ") if status else "status unknown"),
                ft.Text(stop.address, size=12),
                ft.Text(
                    f"ETA {_hhmm(stop_time(stop), app.tz)} · window {_window(stop, app.tz)}",
                    size=12,
                ),
                ft.Row(
                    [
                        tagged(
                            "stop-open-orders",
                            ft.Button("Open in orders", on_click=open_in_orders),
                        ),
                        ft.TextButton("Back", on_click=lambda _: state.select_stop(None)),
                    ]
                ),
            ],
        ),
    )


@ft.component
def _driver_card(app: DispatcherAppState) -> ft.Control:
    state = app.fleet
    use_observable(state)
    if state.selected is None:
        return ft.Container(width=0)
    driver = state.drivers.get(state.selected)
    position = state.positions.get(state.selected)
    route = state.route
    now = state.now()
    name = driver.name if driver else f"Driver {state.selected}"
    status = driver.status.value.replace("_", " ") if driver else "unknown"
    seen = seen_ago(position.recorded_at if position else None, now)
    rows: list[ft.Control] = [
        ft.Row(
            [
                ft.Text(name, weight=ft.FontWeight.BOLD, size=16, expand=True),
                tagged(
                    "driver-card-close",
                    ft.IconButton(ft.Icons.CLOSE, on_click=lambda _: state.select(None)),
                ),
            ]
        ),
        ft.Text(f"{status} · seen {seen}", size=12),
    ]
    if driver and driver.phone:
        rows.append(
            tagged(
                "driver-card-phone",
                ft.TextButton(driver.phone, icon=ft.Icons.PHONE, url=f"tel:{driver.phone}"),
            )
        )
    if state.selected_stop is not None:
        rows.append(_order_details(app, state.selected_stop))
    elif route is None:
        rows.append(ft.Text("No route today.", size=12))
    else:

        async def edit(_: ft.Event[ft.Button], driver_id: int = route.driver_id) -> None:
            app.nav.go(Section.PLAN)
            await app.assign.open_driver(driver_id)

        rows.append(tagged("edit-route", ft.Button("Edit route", on_click=edit)))
        rows.append(
            ft.Text(
                f"Route #{route.id} · {route.status.value.replace('_', ' ')} · "
                f"{len(route.stops)} stops"
                + ("" if state.on_roads or len(state.path) < 2 else " · straight lines"),
                size=12,
            )
        )
        rows += [_stop_row(state, s, i + 1, app.tz) for i, s in enumerate(route_stops(route.stops))]
    return tagged(
        "driver-card",
        ft.Container(
            width=320,
            padding=12,
            border_radius=12,
            bgcolor=ft.Colors.SURFACE_CONTAINER_LOW,
            content=ft.Column(rows, spacing=6, scroll=ft.ScrollMode.AUTO),
        ),
    )


@ft.component
def fleet_map_panel(app: DispatcherAppState) -> ft.Control:
    return ft.Column(
        expand=True,
        controls=[
            ft.Row(
                expand=True,
                vertical_alignment=ft.CrossAxisAlignment.STRETCH,
                controls=[_map(app.fleet), _driver_card(app)],
            ),
            _status_line(app.fleet, app.tz),
        ],
    )
