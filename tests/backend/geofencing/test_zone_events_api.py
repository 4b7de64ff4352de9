"""A driver crossing a zone, over real HTTP and sockets: the dispatcher's board hears it, the
driver's events list it, and nobody else's drivers or dispatchers are involved."""

import asyncio
import math
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from backend.config import Settings
from tests.backend.locations.test_fanout_sockets import access_token, frames_until, live, ws_url
from tests.factories import Org, create_org_with_users, login

LAT, LNG = 43.7384, 7.4246
M_PER_DEG = 111_195.0


def north_of(metres: float) -> float:
    return LAT + metres / M_PER_DEG


def square(north_m: float = 0.0) -> list[list[float]]:
    """400 x 400 m around the point ``north_m`` north of the centre."""
    east = 200 / (M_PER_DEG * math.cos(math.radians(LAT)))
    corners = ((-1, -1), (-1, 1), (1, 1), (1, -1))
    return [[north_of(north_m + a * 200), LNG + b * east] for a, b in corners]


def fix(north_m: float, t: float) -> dict[str, Any]:
    return {
        "lat": north_of(north_m),
        "lng": LNG,
        "recorded_at": datetime.fromtimestamp(t, UTC).isoformat(),
        "accuracy_m": 5,
    }


async def send(driver: httpx.AsyncClient, fixes: list[dict[str, Any]]) -> None:
    response = await driver.post("/api/v1/drivers/me/locations", json={"fixes": fixes})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(fixes), response.text


async def drive_through(driver: httpx.AsyncClient, t0: float, to_m: int = 1_000) -> None:
    """From 1 km south of the centre to ``to_m`` north of it at 20 m/s, a fix every 10 s."""
    track = range(-1_000, to_m + 1, 200)
    await send(driver, [fix(d, t0 + 10 * k) for k, d in enumerate(track)])


async def events_of(client: httpx.AsyncClient, driver_id: int, count: int) -> list[Any]:
    """The driver's events once there are ``count`` (they are stored off the ingest path)."""
    url = f"/api/v1/drivers/{driver_id}/events"
    deadline = time.monotonic() + 10
    while True:
        response = await client.get(url)
        assert response.status_code == 200, response.text
        page = response.json()
        if page["total"] >= count or time.monotonic() > deadline:
            items: list[Any] = page["items"]
            return items
        await asyncio.sleep(0.05)


async def test_crossing_a_zone_is_announced_and_listed_entered_then_exited(
    org: Org, settings: Settings, base_url: str
) -> None:
    now = time.time()
    # The day's first fix, 3 km south: the driver is active, so is their organisation.
    await send(org.driver, [fix(-3_000, now - 300)])
    response = await org.admin.post(
        "/api/v1/zones", json={"name": "Old town", "kind": "restricted", "points": square()}
    )
    assert response.status_code == 201, response.text
    zone_id = response.json()["id"]
    # A driver of another organisation drives the very same road at the same time.
    other_id, _, emails, other_drivers = await create_org_with_users(settings)
    async with (
        await login(base_url, emails["driver"]) as other_driver,
        await login(base_url, emails["dispatcher"]) as other_dispatcher,
    ):
        await send(other_driver, [fix(-3_000, now - 300)])
        token = await access_token(org.dispatcher)
        async with live(ws_url(base_url, f"/api/v1/fleet/ws?token={token}")) as board:
            t0 = now - 200
            await drive_through(other_driver, t0)  # first: stored before ours, if at all
            await drive_through(org.driver, t0)
            entered_frame = await frames_until(board, "driver_event", 10)
            exited_frame = await frames_until(board, "driver_event", 10)
            heard = [entered_frame, exited_frame]
        assert await events_of(other_dispatcher, other_drivers[0], 0) == []
        foreign = await org.dispatcher.get(f"/api/v1/drivers/{other_drivers[0]}/events")
        assert foreign.status_code == 404
        assert (
            await other_dispatcher.get(f"/api/v1/drivers/{org.driver_ids[0]}/events")
        ).status_code == 404
        assert other_id != org.id

    events = await events_of(org.dispatcher, org.driver_ids[0], 2)
    assert [e["kind"] for e in events] == ["zone_exited", "zone_entered"]  # newest first
    exited, entered = events
    assert entered["lat"] == pytest.approx(north_of(0))  # the first fix wholly inside
    assert datetime.fromisoformat(entered["at"]).timestamp() == pytest.approx(t0 + 50, abs=1e-3)
    # Beyond 200 m plus the 40 m band from 400 m on; left at the second fix out there.
    assert exited["lat"] == pytest.approx(north_of(600))
    assert datetime.fromisoformat(exited["at"]).timestamp() == pytest.approx(t0 + 80, abs=1e-3)
    assert entered["details"] == {"zone_id": zone_id, "name": "Old town", "kind": "restricted"}
    assert [(h["kind"], h["event_id"]) for h in heard] == [
        ("zone_entered", entered["id"]),
        ("zone_exited", exited["id"]),
    ]
    assert heard[0]["driver_id"] == org.driver_ids[0]

    only_exits = await org.dispatcher.get(
        f"/api/v1/drivers/{org.driver_ids[0]}/events", params={"kind": "zone_exited", "limit": 5}
    )
    assert [e["id"] for e in only_exits.json()["items"]] == [exited["id"]]
    assert (await org.driver.get(f"/api/v1/drivers/{org.driver_ids[0]}/events")).status_code == 403


async def test_a_switched_off_zone_stops_logging_at_once(org: Org) -> None:
    now = time.time()
    await send(org.driver, [fix(-3_000, now - 600)])
    response = await org.admin.post(
        "/api/v1/zones", json={"name": "Market", "kind": "zone", "points": square()}
    )
    assert response.status_code == 201, response.text
    await drive_through(org.driver, now - 500)
    assert len(await events_of(org.dispatcher, org.driver_ids[0], 2)) == 2
    response = await org.admin.patch(
        f"/api/v1/zones/{response.json()['id']}", json={"active": False}
    )
    assert response.status_code == 200, response.text
    harbour = {"name": "Harbour", "kind": "zone", "points": square(2_000)}
    assert (await org.admin.post("/api/v1/zones", json=harbour)).status_code == 201
    # Straight through the market again, on to the harbour: events are stored in order, so
    # once the harbour's are there, any of the market's would be too.
    await drive_through(org.driver, now - 300, to_m=3_000)
    events = await events_of(org.dispatcher, org.driver_ids[0], 4)
    assert [(e["details"]["name"], e["kind"]) for e in events] == [
        ("Harbour", "zone_exited"),
        ("Harbour", "zone_entered"),
        ("Market", "zone_exited"),
        ("Market", "zone_entered"),
    ]
    # A driver with events but no orders or routes can still be deleted, events and all.
    assert (await org.admin.delete(f"/api/v1/drivers/{org.driver_ids[0]}")).status_code == 204
    gone = await org.dispatcher.get(f"/api/v1/drivers/{org.driver_ids[0]}/events")
    assert gone.status_code == 404
