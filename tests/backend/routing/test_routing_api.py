"""``/api/v1/routing/*`` over real HTTP, on a backend that loaded Monaco at start."""

import pytest

from tests.factories import Org

A = {"lat": 43.72956, "lng": 7.41337}
B = {"lat": 43.73077, "lng": 7.41546}
CASINO = {"lat": 43.73942, "lng": 7.42768}
NICE = {"lat": 43.7034, "lng": 7.2663}
PARIS = {"lat": 48.8566, "lng": 2.3522}


async def test_route_over_http(routing_org: Org) -> None:
    response = await routing_org.driver.post("/api/v1/routing/route", json={"waypoints": [A, B]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["duration_s"] == pytest.approx(43, rel=0.15)
    assert body["distance_m"] == pytest.approx(615, rel=0.15)
    assert body["estimated"] is False
    assert len(body["geometry"]) > 10
    assert set(body["geometry"][0]) == {"lat", "lng"}
    assert body["leg_durations_s"] == [pytest.approx(body["duration_s"])]


async def test_matrix_cell_equals_the_route(routing_org: Org) -> None:
    points = [A, B, CASINO]
    matrix = await routing_org.dispatcher.post("/api/v1/routing/matrix", json={"sources": points})
    assert matrix.status_code == 200, matrix.text
    body = matrix.json()
    assert body["estimated"] is False
    route = await routing_org.dispatcher.post(
        "/api/v1/routing/route", json={"waypoints": [B, CASINO]}
    )
    assert body["durations_s"][1][2] == pytest.approx(route.json()["duration_s"], abs=0.05)
    rect = await routing_org.dispatcher.post(
        "/api/v1/routing/matrix", json={"sources": [A], "destinations": [B, NICE]}
    )
    assert rect.json()["estimated"] is True  # Nice lies outside the Monaco extract
    assert len(rect.json()["distances_m"][0]) == 2


async def test_nearest_and_match(routing_org: Org) -> None:
    near = await routing_org.admin.post("/api/v1/routing/nearest", json={"point": CASINO})
    assert near.status_code == 200, near.text
    assert near.json()["estimated"] is False
    assert near.json()["distance_m"] < 50
    route = await routing_org.admin.post("/api/v1/routing/route", json={"waypoints": [CASINO, A]})
    trace = route.json()["geometry"][::3]
    matched = await routing_org.admin.post(
        "/api/v1/routing/match",
        json={"points": trace, "timestamps_s": [1_700_000_000 + 5 * i for i in range(len(trace))]},
    )
    assert matched.status_code == 200, matched.text
    assert matched.json()["estimated"] is False
    assert 0 < matched.json()["confidence"] <= 1


async def test_paris_is_a_400_off_road(routing_org: Org) -> None:
    response = await routing_org.dispatcher.post(
        "/api/v1/routing/route", json={"waypoints": [A, PARIS]}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "off_road"
    assert "outside the loaded road network" in error["message"]
    assert error["details"]["lat"] == pytest.approx(PARIS["lat"])


async def test_validation_stays_422(routing_org: Org) -> None:
    one = await routing_org.dispatcher.post("/api/v1/routing/route", json={"waypoints": [A]})
    assert one.status_code == 422
    too_big = await routing_org.dispatcher.post(
        "/api/v1/routing/matrix", json={"sources": [A] * 1001}
    )
    assert too_big.status_code == 422
    bad_times = await routing_org.dispatcher.post(
        "/api/v1/routing/match", json={"points": [A, B], "timestamps_s": [1.0]}
    )
    assert bad_times.status_code == 422


async def test_a_full_1000_matrix_is_served(routing_org: Org) -> None:
    # A 40 x 25 grid over central Monaco: every point is within metres of a street.
    grid = [
        {"lat": 43.731 + 0.012 * (i % 40) / 40, "lng": 7.416 + 0.012 * (i // 40) / 25}
        for i in range(1000)
    ]
    response = await routing_org.dispatcher.post("/api/v1/routing/matrix", json={"sources": grid})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["durations_s"]) == 1000
    assert all(len(row) == 1000 for row in body["distances_m"])
    assert body["estimated"] is False
