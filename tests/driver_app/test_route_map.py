"""The driver's map: what it marks, the line it draws, where its tiles come from; and its
state against the real backend (the tile settings and the road path)."""

from dataclasses import replace

import httpx
import pytest

from driver_app.logic.route_map import Mark, map_stops, path_ahead, tile_template, to_fit
from driver_app.logic.stops import StopLine
from driver_app.state.route_map import RouteMapState
from shared.api_client import ApiClient
from shared.enums import OrderStatus
from tests.driver_app.test_stop_flow import line_for, order_out
from tests.factories import PASSWORD, Org


def day() -> list[StopLine]:  # three stops: the first delivered, the second next, the third to do
    lines = []
    for n, status in (
        (1, OrderStatus.DELIVERED),
        (2, OrderStatus.EN_ROUTE),
        (3, OrderStatus.ASSIGNED),
    ):
        line = line_for(order_out(order_id=n, status=status))
        stop = line.stop.model_copy(
            update={"lat": round(43.73 + n / 1000, 3), "lng": 7.42, "id": n}
        )
        lines.append(replace(line, stop=stop))
    return lines


def test_stops_are_numbered_as_in_the_list_and_marked() -> None:
    stops = map_stops(day(), 1)
    assert [(s.number, s.mark) for s in stops] == [
        (1, Mark.DONE),
        (2, Mark.NEXT),
        (3, Mark.TO_DO),
    ]


def test_the_line_runs_from_the_driver_through_what_is_left() -> None:
    stops = map_stops(day(), 1)
    assert path_ahead(stops) == [(43.732, 7.42), (43.733, 7.42)]
    assert path_ahead(stops, (43.7, 7.4)) == [(43.7, 7.4), (43.732, 7.42), (43.733, 7.42)]
    done = map_stops([line for line in day()[:1]], None)
    assert path_ahead(done, (43.7, 7.4)) == []  # nothing left: no line
    assert to_fit(done) == [(43.731, 7.42)]  # the map still shows the day


@pytest.mark.parametrize(
    ("configured", "base", "expected"),
    [
        (
            "/tiles/{z}/{x}/{y}.png",
            "http://127.0.0.1:8000",
            "http://127.0.0.1:8000/tiles/{z}/{x}/{y}.png",
        ),
        (
            "/tiles/{z}/{x}/{y}.png",
            "https://lm.example/",
            "https://lm.example/tiles/{z}/{x}/{y}.png",
        ),
        (
            "https://tiles.example/{z}/{x}/{y}.png",
            "http://127.0.0.1:8000",
            "https://tiles.example/{z}/{x}/{y}.png",
        ),
        # Behind a path, as the API calls are: the tiles are under it too.
        (
            "/tiles/{z}/{x}/{y}.png",
            "https://lm.example/lastmile/",
            "https://lm.example/lastmile/tiles/{z}/{x}/{y}.png",
        ),
        (
            "tiles/{z}/{x}/{y}.png",
            "https://lm.example/lastmile",
            "https://lm.example/lastmile/tiles/{z}/{x}/{y}.png",
        ),
        (
            "//tiles.example/{z}/{x}/{y}.png",
            "https://lm.example/lastmile",
            "https://tiles.example/{z}/{x}/{y}.png",
        ),
    ],
)
def test_tiles_come_from_the_configured_url(configured: str, base: str, expected: str) -> None:
    assert tile_template(configured, base) == expected


async def test_the_map_reads_its_tiles_and_a_path_from_the_server(base_url: str, org: Org) -> None:
    async with ApiClient(base_url) as client:
        await client.login(org.emails["driver"], PASSWORD)
        state = RouteMapState(client)
        waypoints = [(43.7384, 7.4246), (43.7402, 7.4276), (43.7312, 7.4197)]
        await state.load(waypoints)
        assert state.tile_url == f"{base_url}/tiles/{{z}}/{{x}}/{{y}}.png"
        assert "OpenStreetMap" in state.attribution
        assert len(state.path) >= 3
        assert state.path[0] == pytest.approx(waypoints[0], abs=0.01)
        assert state.path[-1] == pytest.approx(waypoints[-1], abs=0.01)


async def test_without_a_server_the_map_draws_straight_lines() -> None:
    async with ApiClient("http://127.0.0.1:9") as client:  # nothing listens there
        state = RouteMapState(client)
        await state.load([(43.73, 7.42), (43.74, 7.43)])
        assert state.path == [(43.73, 7.42), (43.74, 7.43)]
        assert not state.on_roads
        assert state.tile_url == "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"


async def test_the_map_takes_the_tiles_the_server_names() -> None:
    """Another tile server and its credit, configured on the backend, reach the map; a
    server that cannot route still leaves a line to draw."""
    asked: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path == "/lastmile/api/v1/map":
            body = {"tile_url": "https://tiles.example/{z}/{x}/{y}.png", "attribution": "© Example"}
            return httpx.Response(200, json=body)
        return httpx.Response(503, json={"detail": "no routing"})

    async with ApiClient(
        "https://lm.example/lastmile", transport=httpx.MockTransport(server)
    ) as client:
        state = RouteMapState(client)
        await state.load([(43.73, 7.42), (43.74, 7.43)])
        assert state.tile_url == "https://tiles.example/{z}/{x}/{y}.png"
        assert state.attribution == "© Example"
        assert state.path == [(43.73, 7.42), (43.74, 7.43)]
        assert not state.on_roads
        await state.load([(43.73, 7.42), (43.74, 7.43), (43.75, 7.44)])
    assert asked.count("/lastmile/api/v1/map") == 1  # read once, not on every opening
