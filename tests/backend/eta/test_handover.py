"""A quiet driver whose fixes now reach another worker: let go of, not recomputed stale.

:func:`handed_over` is the decision; the :class:`LiveEtas` tests run it against a real
database and broker, with the shared store (Redis, across processes) faked at its port and
the clock moved by hand (the two-worker run over real Redis is in
``test_handover_across_workers.py``).
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.eta.handover import handed_over
from backend.eta.live import LiveEtas
from backend.eta.tracker import EtaConfig
from backend.geofencing.route_stops import DriverDay, load_open_stops
from backend.locations.fix import DriverRef, Fix
from backend.routing.router import fallback_router
from shared.channels import order_channel
from shared.enums import OrderStatus
from tests.backend.geofencing.test_stop_automation import (
    CUSTOMER,
    World,
    fix_at,
    listen,
    make_world,
    south_of,
)
from tests.conftest import make_settings


def test_a_newer_shared_fix_means_another_worker_has_the_driver() -> None:
    assert handed_over({7: 100.0}, {7: 100.5}) == {7}


def test_this_workers_own_fix_in_the_shared_store_keeps_the_driver() -> None:
    assert handed_over({7: 100.0}, {7: 100.0}) == set()


def test_an_older_or_missing_shared_fix_proves_nothing() -> None:
    # Older: the shared write of this worker's newest fix is still on its way.
    assert handed_over({7: 100.0, 8: 50.0}, {7: 99.0}) == set()


def test_only_the_drivers_asked_about_and_handed_over_are_named() -> None:
    local = {1: 10.0, 2: 10.0, 3: 10.0}
    assert handed_over(local, {1: 11.0, 2: 9.0, 4: 99.0}) == {1}


class FakeShared:
    """The shared fix times (Redis across processes), as another worker left them."""

    def __init__(self, newest: Callable[[], dict[int, float]]) -> None:
        self.newest = newest
        self.asked: list[list[int]] = []

    async def recorded_at(self, drivers: Sequence[DriverRef]) -> dict[int, float]:
        self.asked.append([d.driver_id for d in drivers])
        return self.newest()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for w in make_world(tmp_path, OrderStatus.EN_ROUTE, with_pickup=False):
        yield w


async def watched(
    w: World, tmp_path: Path, clock: Clock, shared: FakeShared | None
) -> tuple[LiveEtas, Fix, DriverDay]:
    """A started :class:`LiveEtas` that computed the driver's ETAs from one fix 20 km out."""
    etas = LiveEtas(
        w.db,
        fallback_router(make_settings(tmp_path)),
        w.broker,
        config=EtaConfig(refresh_every_s=30.0),
        clock=clock,
        shared=shared,
    )
    day = (await load_open_stops(w.db, [w.driver.driver_id]))[w.driver.driver_id]
    assert day.stops, "the driver has a stop today"
    fix = fix_at(south_of(CUSTOMER, 20_000), datetime.now(UTC).timestamp() - 5)
    await etas.start()
    etas.observe(w.driver, fix, day)
    await asyncio.wait_for(etas.drain(), 10)
    assert etas.metrics.get("etas_published") == 1
    return etas, fix, day


async def test_a_quiet_driver_another_worker_hears_from_is_let_go_of(
    world: World, tmp_path: Path
) -> None:
    w, clock = world, Clock()
    newest = {w.driver.driver_id: 0.0}
    shared = FakeShared(lambda: newest)
    etas, fix, day = await watched(w, tmp_path, clock, shared)
    heard = await listen(w.broker, [order_channel(w.order_id)])
    try:
        newest[w.driver.driver_id] = fix.recorded_at + 3  # the driver's fixes went elsewhere
        clock.now += 120  # two minutes without a fix here: their ETA would have slipped
        await etas.recompute_quiet()
        await asyncio.wait_for(etas.drain(), 10)
        assert shared.asked == [[w.driver.driver_id]]
        assert etas.metrics.get("eta_drivers_handed_over") == 1
        assert etas.metrics.get("eta_refreshes") == 1  # not recomputed from the stale fix
        assert etas.metrics.get("etas_published") == 1
        # Let go of for good: the next look finds nobody quiet and asks nothing.
        clock.now += 120
        await etas.recompute_quiet()
        assert len(shared.asked) == 1
        # The driver's fixes come back here: watched again, from the new fix.
        etas.observe(w.driver, fix._replace(recorded_at=fix.recorded_at + 10), day)
        await asyncio.wait_for(etas.drain(), 10)
        assert etas.metrics.get("eta_refreshes") == 2
        assert etas.metrics.get("etas_published") == 2
        await asyncio.sleep(0.05)  # the in-memory broker hands messages over on the loop
        assert len(heard.of("eta")) == 1
    finally:
        for task in heard.tasks:
            task.cancel()
        await etas.close()


@pytest.mark.parametrize("other_worker", ["none", "older"])
async def test_a_quiet_driver_nobody_else_hears_from_has_their_etas_slip(
    world: World, tmp_path: Path, other_worker: str
) -> None:
    w, clock = world, Clock()
    newest: dict[int, float] = {}
    shared = FakeShared(lambda: newest)
    etas, fix, _ = await watched(w, tmp_path, clock, shared)
    try:
        # This worker's own fix (or nothing) in the shared store: the driver is stuck.
        if other_worker == "older":
            newest[w.driver.driver_id] = fix.recorded_at
        clock.now += 120
        await etas.recompute_quiet()
        await asyncio.wait_for(etas.drain(), 10)
        assert etas.metrics.get("eta_drivers_handed_over") == 0
        assert etas.metrics.get("eta_refreshes") == 2
        assert etas.metrics.get("etas_published") == 2  # two minutes later than before
    finally:
        await etas.close()


async def test_without_an_answer_from_the_shared_store_the_etas_slip_as_before(
    world: World, tmp_path: Path
) -> None:
    w, clock = world, Clock()

    def down() -> dict[int, float]:
        raise ConnectionError("Redis is down")

    etas, _, _ = await watched(w, tmp_path, clock, FakeShared(down))
    try:
        clock.now += 120
        await etas.recompute_quiet()
        await asyncio.wait_for(etas.drain(), 10)
        assert etas.metrics.get("eta_handover_check_failures") == 1
        assert etas.metrics.get("eta_refreshes") == 2
    finally:
        await etas.close()


async def test_a_fix_that_arrives_during_the_check_keeps_the_driver(
    world: World, tmp_path: Path
) -> None:
    w, clock = world, Clock()
    holder: list[LiveEtas] = []
    later: list[Fix] = []

    def meanwhile() -> dict[int, float]:
        # The driver is back on this worker while Redis answers about the older fix.
        holder[0].observe(w.driver, later[0], day)
        return {w.driver.driver_id: later[0].recorded_at}

    etas, fix, day = await watched(w, tmp_path, clock, FakeShared(meanwhile))
    holder.append(etas)
    later.append(fix._replace(recorded_at=fix.recorded_at + 60))
    try:
        clock.now += 120
        await etas.recompute_quiet()
        await asyncio.wait_for(etas.drain(), 10)
        assert etas.metrics.get("eta_drivers_handed_over") == 0
        assert etas.metrics.get("eta_refreshes") == 2  # from the fix that came
    finally:
        await etas.close()
