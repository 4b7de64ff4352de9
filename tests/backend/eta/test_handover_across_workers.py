"""Two backend workers on one database and one real Redis: a driver's fixes move from the
first worker to the second mid-route (a reconnect from a new address). The first one lets
go of the driver once they are quiet there: the dispatcher and the customer, connected to
the first worker, hear ETAs from the second worker's fixes only, and the late stop is one
exception, not one per worker."""

import asyncio
import contextlib
import math
import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection

from backend.config import Settings
from tests.backend.locations.test_fanout_sockets import access_token, live, ws_url
from tests.conftest import make_settings
from tests.factories import assign, create_order, create_org_with_users, login
from tests.live_server import run_server

CUSTOMER = (43.7402, 7.4276)
M_PER_DEG_LAT = 111_320
# LASTMILE_ETA_REFRESH_EVERY_S here: the first worker's quiet threshold (it looks every
# second). The second worker's first fix must be in Redis by then: ample on a busy machine.
QUIET_S = 2.0


def south_of_customer(metres: float) -> tuple[float, float]:
    return CUSTOMER[0] - metres / M_PER_DEG_LAT, CUSTOMER[1]


@pytest.fixture
def two_workers(tmp_path: Path, clean_redis: str) -> Iterator[tuple[Settings, str, str]]:
    settings = make_settings(
        tmp_path,
        redis_url=clean_redis,
        eta_refresh_every_s=QUIET_S,
        eta_publish_change_s=1,  # every ETA a worker computes is heard
    )
    with run_server(settings) as first, run_server(settings) as second:
        yield settings, first, second


async def send(driver: httpx.AsyncClient, *fixes: tuple[float, float, float]) -> None:
    """``fixes``: (lat, lng, recorded_at epoch seconds), in one batch."""
    batch = [
        {
            "lat": lat,
            "lng": lng,
            "recorded_at": datetime.fromtimestamp(at, UTC).isoformat(),
            "accuracy_m": 8,
        }
        for lat, lng, at in fixes
    ]
    response = await driver.post("/api/v1/drivers/me/locations", json={"fixes": batch})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(batch), response.text


@contextlib.asynccontextmanager
async def etas_heard(ws: ClientConnection) -> AsyncIterator[list[float]]:
    """Every ETA frame ``ws`` gets while the block runs, as epoch seconds, in order."""
    heard: list[float] = []

    async def read() -> None:
        async for raw in ws:
            frame = orjson.loads(raw)
            if frame["type"] == "eta":
                heard.append(datetime.fromisoformat(frame["eta"]).timestamp())

    task = asyncio.create_task(read())
    try:
        yield heard
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def counter(base_url: str, name: str) -> int:
    async with httpx.AsyncClient(base_url=base_url) as client:
        text = (await client.get("/metrics")).text
    found = re.search(rf'^lastmile_pipeline_events_total{{name="{name}"}} (\S+)$', text, re.M)
    return int(float(found.group(1))) if found else 0


async def test_the_worker_a_driver_left_publishes_no_stale_eta_and_no_second_late_risk(
    two_workers: tuple[Settings, str, str],
) -> None:
    settings, first, second = two_workers
    _, _, emails, driver_ids = await create_org_with_users(settings)
    dispatcher = await login(first, emails["dispatcher"])
    driver_first = await login(first, emails["driver"])
    driver_second = await login(second, emails["driver"])
    async with dispatcher, driver_first, driver_second:
        now = time.time()
        window = {
            "start": datetime.fromtimestamp(now - 3600, UTC).isoformat(),
            "end": datetime.fromtimestamp(now + 180, UTC).isoformat(),  # in 3 minutes
        }
        dropoff = {
            "address": "1 Boulevard des Moulins, Monaco",
            "lat": CUSTOMER[0],
            "lng": CUSTOMER[1],
            "time_window": window,
            "service_time_s": 120,
        }
        order = await create_order(dispatcher, dropoff=dropoff)
        await assign(dispatcher, order["id"], driver_ids[0])
        stop = next(s for s in order["stops"] if s["kind"] == "dropoff")
        route = {
            "driver_id": driver_ids[0],
            "service_date": datetime.now(UTC).date().isoformat(),
            "stops": [{"stop_id": stop["id"]}],
        }
        response = await dispatcher.post("/api/v1/routes", json=route)
        assert response.status_code == 201, response.text
        response = await dispatcher.post(f"/api/v1/orders/{order['id']}/tracking-links", json={})
        assert response.status_code == 201, response.text
        token = response.json()["token"]

        # ETAs from 20 km out are an hour away, from 2 km out minutes away: which fixes an
        # ETA came from shows. (Straight-line routing here: 25 km/h, detour 1.4.)
        from_far = now + 30 * 60
        fleet = ws_url(first, f"/api/v1/fleet/ws?token={await access_token(dispatcher)}")
        async with (
            live(fleet) as fleet_socket,
            live(ws_url(first, f"/api/v1/track/{token}/ws")) as customer_socket,
            etas_heard(fleet_socket) as dispatcher_heard,
            etas_heard(customer_socket) as customer_heard,
        ):
            # On the first worker, 20 km out (fixes from minutes ago: a plausible drive),
            # until its ETA is heard (its first fix may come before the route is loaded).
            # Recorded 20 ms apart: too close together to compute a second time.
            lat, lng = south_of_customer(20_000)
            deadline = time.monotonic() + 10
            k = 0
            while not (dispatcher_heard and customer_heard):
                assert time.monotonic() < deadline, "no ETA from the first worker's fixes"
                await send(driver_first, (lat, lng, now - 400 + 0.02 * k))
                k += 1
                await asyncio.sleep(0.2)
            assert dispatcher_heard[0] > from_far
            assert customer_heard[0] > from_far

            # The driver reconnects through the second worker and keeps driving in, until
            # well past the first worker's quiet threshold.
            switched_at = len(dispatcher_heard), len(customer_heard)
            k = 0
            let_go_at = math.inf
            deadline = time.monotonic() + QUIET_S * 5
            while time.monotonic() < min(deadline, let_go_at + QUIET_S):
                await send(driver_second, (*south_of_customer(2_000 - 8 * k), time.time()))
                k += 1
                if let_go_at == math.inf and await counter(first, "eta_drivers_handed_over"):
                    let_go_at = time.monotonic()  # its timer keeps running: nothing stale
                await asyncio.sleep(0.2)

        for heard, since in zip((dispatcher_heard, customer_heard), switched_at, strict=True):
            after = heard[since:]
            from_second = [i for i, eta in enumerate(after) if eta < from_far]
            assert from_second, f"no ETA from the second worker's fixes: {after}"
            stale = [eta for eta in after[from_second[0] :] if eta >= from_far]
            assert stale == [], f"ETAs from the first worker's old fix: {after}"
        assert await counter(first, "eta_drivers_handed_over") == 1
        assert await counter(second, "eta_drivers_handed_over") == 0

        # One late risk for the stop, though both workers found it late.
        response = await dispatcher.get("/api/v1/exceptions")
        assert response.status_code == 200, response.text
        (item,) = [i for i in response.json() if i["kind"] == "late_risk"]
        assert (item["order_id"], item["stop_id"]) == (order["id"], stop["id"])
        assert datetime.fromisoformat(item["eta"]) > datetime.fromtimestamp(now, UTC) + timedelta(
            minutes=30
        )  # raised by the first worker, from 20 km out
        assert await counter(second, "late_risks_already_raised") == 1  # found late too
