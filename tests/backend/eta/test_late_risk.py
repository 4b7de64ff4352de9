"""A stop's late risk is on its order's timeline once, whoever raises it how often."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from backend.db import session_scope
from backend.eta.estimate import StopEta
from backend.eta.late_risk import record_late_risk
from backend.models import OrderEvent
from shared.enums import EventKind, OrderStatus
from tests.backend.geofencing.test_stop_automation import World, make_world

WINDOW_END = datetime.now(UTC) + timedelta(minutes=2)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for w in make_world(
        tmp_path, OrderStatus.EN_ROUTE, with_pickup=False, window_end=WINDOW_END
    ):
        yield w


def late(w: World, by_s: float = 600.0, window_end: datetime = WINDOW_END) -> StopEta:
    end = window_end.timestamp()
    return StopEta(w.dropoff_stop, w.order_id, end + by_s, end + by_s + 120, end)


async def late_risks(w: World) -> list[OrderEvent]:
    async with session_scope(w.db) as session:
        rows = await session.exec(
            select(OrderEvent).where(
                OrderEvent.order_id == w.order_id, col(OrderEvent.kind) == EventKind.LATE_RISK
            )
        )
        return list(rows.all())


async def test_a_second_late_risk_for_the_same_stop_and_window_is_not_added(
    world: World,
) -> None:
    w = world
    async with session_scope(w.db) as session:
        assert await record_late_risk(session, w.driver.org_id, late(w)) is True
    # Another worker's fresh tracker (or this one after a restart) raises it again.
    async with session_scope(w.db) as session:
        assert await record_late_risk(session, w.driver.org_id, late(w, by_s=900)) is False
    (event,) = await late_risks(w)
    assert event.details["stop_id"] == w.dropoff_stop
    assert event.details["late_by_s"] == 600


async def test_two_workers_raising_it_at_once_add_one(world: World) -> None:
    w = world
    first_holds = asyncio.Event()
    release = asyncio.Event()

    async def first() -> bool:
        async with session_scope(w.db) as session:
            added = await record_late_risk(session, w.driver.org_id, late(w))
            first_holds.set()
            await release.wait()  # not committed yet while the second one runs
            return added

    async def second() -> bool:
        await first_holds.wait()
        async with session_scope(w.db) as session:
            return await record_late_risk(session, w.driver.org_id, late(w, by_s=700))

    one = asyncio.create_task(first())
    other = asyncio.create_task(second())
    await first_holds.wait()
    await asyncio.sleep(0.3)  # room for the second to get ahead if the lock did not hold it
    release.set()
    assert sorted(await asyncio.wait_for(asyncio.gather(one, other), 30)) == [False, True]
    assert len(await late_risks(w)) == 1


async def test_a_new_window_is_a_new_late_risk(world: World) -> None:
    w = world
    async with session_scope(w.db) as session:
        assert await record_late_risk(session, w.driver.org_id, late(w))
    rescheduled = WINDOW_END + timedelta(hours=1)
    async with session_scope(w.db) as session:
        assert await record_late_risk(session, w.driver.org_id, late(w, window_end=rescheduled))
    assert len(await late_risks(w)) == 2


async def test_another_organisations_stop_gets_no_event(world: World) -> None:
    w = world
    async with session_scope(w.db) as session:
        assert await record_late_risk(session, w.driver.org_id + 1_000, late(w)) is False
    assert await late_risks(w) == []
