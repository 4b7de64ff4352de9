"""A driver's fixes move to another worker (theirs was killed; nginx hashes them elsewhere):
the new worker's pipeline knows nothing of them, yet the driver standing at a stop is not
"arrived" a second time, and leaving it unserved is still the dispatcher's exception.

Two pipelines on one database stand for the two workers; the first one's memory is what a
SIGKILL loses (tests/deploy/test_nginx_workers.py kills real processes behind nginx).
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.locations.pipeline import build_pipeline
from backend.routing.router import fallback_router
from shared.channels import driver_channel
from shared.enums import EventKind, OrderStatus
from tests.backend.geofencing.test_stop_automation import (
    CUSTOMER,
    World,
    approach,
    drive,
    listen,
    make_world,
    settle,
    south_of,
    status_of,
    timeline,
)
from tests.conftest import make_settings


@pytest.fixture
async def en_route(tmp_path: Path) -> AsyncIterator[World]:
    async for w in make_world(tmp_path, OrderStatus.EN_ROUTE, with_pickup=False):
        yield w


@pytest.fixture
async def other_worker(en_route: World, tmp_path: Path) -> AsyncIterator[World]:
    """The same driver and order, seen by a second pipeline (another worker's)."""
    settings = make_settings(tmp_path, left_stop_grace_s=0.3)
    pipeline = build_pipeline(
        settings, en_route.db, broker=en_route.broker, routing=fallback_router(settings)
    )
    await pipeline.start()
    try:
        yield replace(en_route, pipeline=pipeline)
    finally:
        await pipeline.stop()


async def kinds(w: World, kind: EventKind) -> int:
    return sum(1 for e in await timeline(w) if e.kind == kind)


@pytest.mark.parametrize("more_at_door_s", [10, 120])
async def test_at_a_stop_when_the_worker_dies_no_second_arrival_and_leaving_is_seen(
    en_route: World, other_worker: World, more_at_door_s: int
) -> None:
    w, other = en_route, other_worker
    heard = await listen(w.broker, [driver_channel(w.driver.driver_id)])
    t = await drive(w, [south_of(CUSTOMER, 3_000)], datetime.now(UTC).timestamp() - 1_200)
    await settle(w)
    t = await drive(w, approach(CUSTOMER, 3_000, 75), t)
    t = await drive(w, [south_of(CUSTOMER, 5)] * 24, t)  # two minutes at the door
    await settle(w)
    assert await kinds(w, EventKind.ARRIVED) == 1
    assert await status_of(w) is OrderStatus.ARRIVING

    # The first worker is gone; the next fixes reach the other one, still at the door.
    t = await drive(other, [south_of(CUSTOMER, 5)], t)
    await settle(other)
    t = await drive(other, [south_of(CUSTOMER, 5)] * (more_at_door_s // 5), t)
    await settle(other)
    assert await kinds(w, EventKind.ARRIVED) == 1  # the driver's app opens the stop once
    assert [m["type"] for _, m in heard.of("at_stop")] == ["at_stop"]

    # Away without a proof: the exception, once.
    await drive(other, [south_of(CUSTOMER, -400 - 75 * k) for k in range(6)], t)
    await settle(other)
    await asyncio.sleep(0.6)  # the grace (0.3 s here) runs out
    assert await kinds(w, EventKind.LEFT_WITHOUT_PROOF) == 1
    for task in heard.tasks:
        task.cancel()


async def test_a_departure_already_reported_is_not_reported_again_by_the_next_worker(
    en_route: World, other_worker: World
) -> None:
    w, other = en_route, other_worker
    t = await drive(w, [south_of(CUSTOMER, 3_000)], datetime.now(UTC).timestamp() - 1_200)
    await settle(w)
    t = await drive(w, approach(CUSTOMER, 3_000, 75), t)
    t = await drive(w, [south_of(CUSTOMER, 5)] * 24, t)
    t = await drive(w, [south_of(CUSTOMER, -400 - 75 * k) for k in range(6)], t)
    await settle(w)
    await asyncio.sleep(0.6)
    assert await kinds(w, EventKind.LEFT_WITHOUT_PROOF) == 1

    # Driving on, their fixes now reach the other worker.
    t = await drive(other, [south_of(CUSTOMER, -900)], t)
    await settle(other)
    await drive(other, [south_of(CUSTOMER, -900 - 75 * k) for k in range(1, 8)], t)
    await settle(other)
    await asyncio.sleep(0.6)
    assert await kinds(w, EventKind.LEFT_WITHOUT_PROOF) == 1
    assert await kinds(w, EventKind.ARRIVED) == 1
