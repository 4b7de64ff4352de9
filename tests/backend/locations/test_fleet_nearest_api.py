"""``GET /api/v1/fleet/nearest``: on-duty drivers by straight-line distance from their last
fix, over HTTP (on SQLite the Python path, on PostgreSQL with PostGIS the SQL one; /health
says which)."""

import glob
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared.geo import Point, haversine_m
from tests.conftest import ON_POSTGRES, require
from tests.factories import Org

POINT = Point(43.7384, 7.4246)  # Monaco
NEAR = Point(43.7400, 7.4260)  # ~210 m from POINT
FAR = Point(43.7450, 7.4300)  # ~850 m
NEARER = Point(43.7390, 7.4250)  # ~75 m


async def send_fix(client: httpx.AsyncClient, at: Point, seconds_ago: float) -> str:
    recorded_at = (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat()
    fix = {"lat": at.lat, "lng": at.lng, "recorded_at": recorded_at}
    response = await client.post("/api/v1/drivers/me/locations", json=[fix])
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1, response.text
    return recorded_at


async def on_duty(client: httpx.AsyncClient, status: str = "idle") -> None:
    response = await client.put("/api/v1/drivers/me/status", json={"status": status})
    assert response.status_code == 200, response.text


async def nearest(org: Org, **params: Any) -> list[dict[str, Any]]:
    query = {"lat": POINT.lat, "lng": POINT.lng, **params}
    response = await org.dispatcher.get("/api/v1/fleet/nearest", params=query)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def test_nearest_on_duty_drivers_come_first_by_their_newest_fix(org: Org) -> None:
    first, second = org.driver_ids
    await on_duty(org.driver)
    await on_duty(org.driver2, "en_route")
    sent_at = await send_fix(org.driver, NEAR, 600)
    await send_fix(org.driver2, FAR, 600)

    found = await nearest(org)
    assert [d["driver_id"] for d in found] == [first, second]
    assert found[0]["distance_m"] == round(haversine_m(POINT, NEAR), 1)
    assert found[1]["distance_m"] == round(haversine_m(POINT, FAR), 1)
    assert [d["status"] for d in found] == ["idle", "en_route"]
    assert datetime.fromisoformat(found[0]["recorded_at"]) == datetime.fromisoformat(sent_at)
    assert 590 < found[0]["age_s"] < 900
    assert [d["driver_id"] for d in await nearest(org, limit=1)] == [first]

    await send_fix(org.driver2, NEARER, 1)  # the second driver came closer
    assert [d["driver_id"] for d in await nearest(org)] == [second, first]

    await on_duty(org.driver, "offline")  # off duty: not offered any more
    assert [d["driver_id"] for d in await nearest(org)] == [second]


async def test_a_driver_who_never_sent_a_fix_is_not_listed(org: Org) -> None:
    await on_duty(org.driver)
    assert await nearest(org) == []


async def test_bad_points_and_limits_are_refused(org: Org) -> None:
    refused: list[dict[str, str | int]] = [
        {"lat": 91, "lng": 0},
        {"lat": 0, "lng": -181},
        {"lat": "north", "lng": 0},
        {"lat": 0},
        {"lat": 0, "lng": 0, "limit": 0},
        {"lat": 0, "lng": 0, "limit": 101},
    ]
    for params in refused:
        response = await org.dispatcher.get("/api/v1/fleet/nearest", params=params)
        assert response.status_code == 422, (params, response.text)


async def test_health_says_where_zone_and_nearest_queries_run(org: Org) -> None:
    body = (await org.admin.get("/health")).json()
    if not ON_POSTGRES:
        assert body["spatial"] == "python"
        return
    require(
        bool(glob.glob("/usr/share/postgresql/*/extension/postgis.control")),
        "PostGIS not installed (Debian package postgresql-15-postgis-3); scripts/system-deps",
    )
    assert body["spatial"] == "postgis"
