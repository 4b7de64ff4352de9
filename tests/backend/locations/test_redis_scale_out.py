"""Two backend workers on one database and one real Redis: positions ingested by one are
read, watched and tracked through the other; the shared position never moves backwards."""

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.config import Settings
from backend.locations.current import Position
from backend.locations.fix import DriverRef, Fix
from backend.locations.redis_positions import RedisPositions, merge
from tests.backend.locations.test_driver_updates import driver_socket, update
from tests.backend.locations.test_fanout_sockets import (
    access_token,
    frames_until,
    live,
    routed_orders,
    ws_url,
)
from tests.conftest import make_settings
from tests.factories import Org, create_org_with_users, login
from tests.live_server import free_port, run_server


@pytest.fixture
def two_workers(tmp_path: Path, clean_redis: str) -> Iterator[tuple[Settings, str, str]]:
    settings = make_settings(tmp_path, redis_url=clean_redis)
    with run_server(settings) as first, run_server(settings) as second:
        yield settings, first, second


def fix_at(t: float, lat: float = 43.7385, lng: float = 7.4218) -> dict[str, Any]:
    return {"lat": lat, "lng": lng, "recorded_at": datetime.fromtimestamp(t, UTC).isoformat()}


async def positions_of(client: httpx.AsyncClient, driver_id: int) -> dict[str, Any] | None:
    response = await client.get("/api/v1/fleet/positions")
    assert response.status_code == 200, response.text
    return next((p for p in response.json() if p["driver_id"] == driver_id), None)


async def eventually(client: httpx.AsyncClient, driver_id: int, lat: float) -> dict[str, Any]:
    deadline = time.monotonic() + 3
    while True:
        position = await positions_of(client, driver_id)
        if position is not None and position["lat"] == lat:
            return position
        assert time.monotonic() < deadline, f"worker never showed lat {lat}: {position}"
        await asyncio.sleep(0.05)


async def test_a_fix_sent_to_one_worker_is_seen_through_the_other(
    two_workers: tuple[Settings, str, str],
) -> None:
    settings, first, second = two_workers
    org_id, slug, emails, driver_ids = await create_org_with_users(settings)
    driver = await login(first, emails["driver"])
    dispatcher_there = await login(second, emails["dispatcher"])
    clients = {"dispatcher": await login(first, emails["dispatcher"]), "driver": driver}
    org = Org(org_id, slug, emails, driver_ids, clients)
    async with driver, dispatcher_there, clients["dispatcher"]:
        health = (await dispatcher_there.get("/health")).json()
        assert health["broker"] == {"ok": True, "backend": "redis", "detail": ""}
        _, tokens = await routed_orders(org, 1)
        fleet = ws_url(second, f"/api/v1/fleet/ws?token={await access_token(dispatcher_there)}")
        async with (
            live(fleet) as dispatcher_socket,
            live(ws_url(second, f"/api/v1/track/{tokens[0]}/ws")) as customer_socket,
        ):
            response = await driver.post(
                "/api/v1/drivers/me/locations", json=[fix_at(time.time() - 1, lat=43.7391)]
            )
            assert response.json()["accepted"] == 1, response.text

            # the other worker's map, its socket (Redis pub/sub) and the customer's page
            seen = await eventually(dispatcher_there, driver_ids[0], 43.7391)
            assert seen["lng"] == 7.4218
            frame = await frames_until(
                dispatcher_socket,
                "positions",
                5,
                lambda f: any(p["driver_id"] == driver_ids[0] for p in f["positions"]),
            )
            assert frame["positions"][0]["lat"] == 43.7391
            customer = await frames_until(
                customer_socket, "driver_position", 5, lambda f: f["position"] is not None
            )
            assert customer["position"]["lat"] != 43.7391  # approximate, never raw

        # A dispatcher socket opened on the other worker starts with the shared positions.
        async with live(fleet) as late:
            first_frame = await frames_until(late, "positions", 2)
            assert [p["driver_id"] for p in first_frame["positions"]] == [driver_ids[0]]


async def test_a_driver_socket_hears_a_change_made_through_the_other_worker(
    two_workers: tuple[Settings, str, str],
) -> None:
    settings, first, second = two_workers
    org_id, slug, emails, driver_ids = await create_org_with_users(settings)
    clients = {role: await login(second, emails[role]) for role in ("dispatcher", "driver")}
    driver_here = await login(first, emails["driver"])
    org = Org(org_id, slug, emails, driver_ids, clients)
    async with driver_here, clients["dispatcher"], clients["driver"]:
        orders, tokens = await routed_orders(org, 1)
        async with (
            driver_socket(first, driver_here) as socket,
            httpx.AsyncClient(base_url=second) as customer,
        ):
            response = await customer.put(
                f"/api/v1/track/{tokens[0]}/instructions", json={"option": "note", "text": "Bell 3"}
            )
            assert response.json()["outcome"] == "applied", response.text
            heard = await update(socket, "order_changed", order_id=orders[0]["id"])
            assert heard["kind"] == "updated"


async def test_an_older_fix_through_another_worker_never_moves_the_position_back(
    two_workers: tuple[Settings, str, str],
) -> None:
    settings, first, second = two_workers
    _, _, emails, driver_ids = await create_org_with_users(settings)
    clients = [
        await login(url, emails[role])
        for url in (first, second)
        for role in ("driver", "dispatcher")
    ]
    driver_a, dispatcher_a, driver_b, dispatcher_b = clients
    try:
        now = time.time()
        newer = await driver_a.post(
            "/api/v1/drivers/me/locations", json=[fix_at(now - 5, lat=43.7400)]
        )
        assert newer.json()["accepted"] == 1
        await eventually(dispatcher_b, driver_ids[0], 43.7400)
        # an offline replay of an older fix reaches the other worker, which has no
        # position of its own for this driver
        older = await driver_b.post(
            "/api/v1/drivers/me/locations", json=[fix_at(now - 60, lat=43.7300)]
        )
        assert older.json()["accepted"] == 1
        await asyncio.sleep(0.3)  # more than the Redis flush interval
        for dispatcher in (dispatcher_a, dispatcher_b):
            position = await positions_of(dispatcher, driver_ids[0])
            assert position is not None
            assert position["lat"] == 43.7400
    finally:
        for client in clients:
            await client.aclose()


def fix(t: float, lat: float) -> Fix:
    return Fix(lat=lat, lng=7.42, recorded_at=t, received_at=t + 0.5, accuracy_m=5)


async def test_shared_positions_keep_the_newest_fix_whoever_writes_last(clean_redis: str) -> None:
    one, other = RedisPositions(clean_redis), RedisPositions(clean_redis)
    try:
        driver = DriverRef(org_id=7, driver_id=3)
        one.put(driver, fix(1000.0, 43.70))
        one.put(driver, fix(1010.0, 43.71))  # the newer of two queued wins the queue
        one.put(driver, fix(1005.0, 43.72))
        await one.flush()
        other.put(driver, fix(1001.0, 43.73))  # older, written later by another worker
        await other.flush()
        [position] = await other.for_org(7)
        assert (position.fix.recorded_at, position.fix.lat) == (1010.0, 43.71)
        assert position.fix.received_at == 1010.5
        assert position.fix.accuracy_m == 5
        assert await one.for_org(8) == []
    finally:
        await one.close()
        await other.close()


async def test_a_redis_outage_keeps_the_latest_queued_fix_for_later() -> None:
    down = RedisPositions(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        driver = DriverRef(org_id=1, driver_id=1)
        down.put(driver, fix(1000.0, 43.70))
        with pytest.raises(Exception, match=r"(?i)connect|refused"):
            await down.flush()
        down.put(driver, fix(999.0, 43.69))  # older than what waits: ignored
        assert down._pending[1][1].recorded_at == 1000.0
    finally:
        await down.close()


def test_merge_prefers_the_newer_fix_per_driver() -> None:
    a, b = DriverRef(1, 1), DriverRef(1, 2)
    local = [Position(a, fix(10.0, 1.0)), Position(b, fix(5.0, 2.0))]
    shared = [Position(a, fix(9.0, 3.0)), Position(b, fix(6.0, 4.0))]
    assert [p.fix.lat for p in merge(local, shared)] == [1.0, 4.0]
