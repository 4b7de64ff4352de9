"""The map of the day (flet-map): the tiles from the configured URL, the line through
the stops still to do, each stop numbered as in the list. On a plain background the
markers and the line still say where to go when the tiles cannot load."""

import flet as ft
import flet_map as fm

from app_kit.hooks import tagged, use_observable
from driver_app.logic.route_map import LatLng, MapStop, Mark, to_fit
from driver_app.state.route_map import RouteMapState

_COLOURS = {
    Mark.DONE: ft.Colors.GREY_500,
    Mark.NEXT: ft.Colors.BLUE_700,
    Mark.TO_DO: ft.Colors.ORANGE_800,
}


def _at(point: LatLng) -> fm.MapLatitudeLongitude:
    return fm.MapLatitudeLongitude(point[0], point[1])


def _marker(stop: MapStop) -> fm.Marker:
    size = 36 if stop.mark is Mark.NEXT else 28
    return fm.Marker(
        coordinates=fm.MapLatitudeLongitude(stop.lat, stop.lng),
        width=size,
        height=size,
        content=tagged(
            "map-stop",
            ft.Container(
                width=size,
                height=size,
                border_radius=size / 2,
                bgcolor=_COLOURS[stop.mark],
                border=ft.Border.all(2, ft.Colors.WHITE),
                alignment=ft.Alignment.CENTER,
                tooltip=stop.address,
                content=ft.Text(str(stop.number), color=ft.Colors.WHITE, weight=ft.FontWeight.BOLD),
            ),
        ),
    )


@ft.component
def route_map_view(
    state: RouteMapState, stops: list[MapStop], position: LatLng | None = None
) -> ft.Control:
    use_observable(state)
    fit = to_fit(stops, position)
    layers: list[fm.MapLayer] = [
        fm.TileLayer(url_template=state.tile_url, max_native_zoom=18),
    ]
    if len(state.path) >= 2:
        layers.append(
            fm.PolylineLayer(
                polylines=[
                    fm.PolylineMarker(
                        coordinates=[_at(p) for p in state.path],
                        color=ft.Colors.BLUE_700,
                        stroke_width=4,
                    )
                ]
            )
        )
    markers = [_marker(s) for s in stops]
    if position is not None:
        markers.append(
            fm.Marker(
                coordinates=_at(position),
                width=18,
                height=18,
                content=tagged(
                    "map-me",
                    ft.Container(
                        width=18,
                        height=18,
                        border_radius=9,
                        bgcolor=ft.Colors.GREEN_700,
                        border=ft.Border.all(3, ft.Colors.WHITE),
                    ),
                ),
            )
        )
    layers.append(fm.MarkerLayer(markers=markers))
    # flet-map writes the copyright sign itself.
    layers.append(fm.SimpleAttribution(text=state.attribution.removeprefix("©").strip()))
    camera = (
        fm.CameraFit(coordinates=[_at(p) for p in fit], max_zoom=17, padding=ft.Padding.all(48))
        if fit
        else None
    )
    caption = (
        "The line follows the roads."
        if state.on_roads
        else "Straight lines between stops (no road path from the server)."
    )
    return ft.Column(
        expand=True,
        controls=[
            tagged(
                "route-map",
                ft.Container(
                    expand=True,
                    border_radius=12,
                    clip_behavior=ft.ClipBehavior.HARD_EDGE,
                    content=fm.Map(
                        expand=True,
                        bgcolor=ft.Colors.BLUE_GREY_50,
                        initial_center=_at(fit[0]) if fit else fm.MapLatitudeLongitude(0, 0),
                        initial_zoom=15,
                        initial_camera_fit=camera,
                        layers=layers,
                    ),
                ),
                expand=True,
            ),
            ft.Text(caption, size=12, color=ft.Colors.ON_SURFACE_VARIANT),
        ],
    )
