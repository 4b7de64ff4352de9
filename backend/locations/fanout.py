"""Fan-out of current positions to dispatchers and customers, through the broker.

:class:`LocationFanOut` implements :class:`backend.locations.port.PositionFanOut`. The
pipeline calls :meth:`LocationFanOut.position` with each driver's new current position as
soon as it is cleaned (its history commit follows); nothing here waits on a socket or a
database query, so the pipeline never slows down for a subscriber.

Dispatchers: positions are coalesced per organisation and published every
``flush_interval_s`` (≤ 100 ms) as one frame on :func:`shared.channels.fleet_positions_channel`
holding the latest position of every driver that moved: at 20,000 fixes/s the broker (and
Redis, with several workers) sees ~10-20 messages per second per organisation, not 20,000.

Customers: a customer's order channel gets the driver's *approximate* position
(:mod:`backend.locations.approximate`) only while the order is the driver's current or next
stop (:mod:`backend.locations.visibility`), and only when that approximate position changed
(or every ``HEARTBEAT_S`` so the page knows the feed is alive). Which orders are visible is
cached per driver, refreshed in bulk every ``refresh_interval_s`` and within ~50 ms of an
order event about an order on the driver's route: never a query per fix. When an order stops
being visible its channel gets ``"position": null`` so the page hides the marker.

Several workers: each worker fans out the fixes it ingested; with Redis the messages reach
the sockets held by every worker. A new dispatcher socket's first frame comes from the
pipeline's merged view (:meth:`backend.locations.pipeline.Pipeline.positions`, shared through
Redis); :meth:`customer_position` (the polling endpoint's answer) is per worker.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.locations import visibility
from backend.locations.approximate import GRID_M, Approximator
from backend.locations.fix import DriverRef, Fix
from backend.realtime.backoff import RESUBSCRIBE
from backend.realtime.broker import Broker
from shared.channels import fleet_positions_channel, order_channel, org_channel

log = logging.getLogger(__name__)

HEARTBEAT_S = 15.0  # a customer hears from a visible driver at least this often while fixes flow
IDLE_FORGET_S = 600.0  # a driver without fixes for this long leaves the caches


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat()


def dispatcher_position(driver_id: int, fix: Fix) -> dict[str, Any]:
    """One driver in a dispatcher frame; the same fields as ``PositionOut`` minus ``age_s``."""
    return {
        "driver_id": driver_id,
        "lat": fix.lat,
        "lng": fix.lng,
        "recorded_at": iso(fix.recorded_at),
        "speed_mps": fix.speed_mps,
        "heading_deg": fix.heading_deg,
        "accuracy_m": fix.accuracy_m,
        "battery": fix.battery,
    }


def customer_message(order_id: int, position: tuple[float, float, float] | None) -> bytes:
    """``driver_position`` for one order's channel; ``position`` is (lat, lng, recorded_at)."""
    body: dict[str, Any] = {"type": "driver_position", "order_id": order_id, "position": None}
    if position is not None:
        lat, lng, at = position
        body["position"] = {"lat": lat, "lng": lng, "recorded_at": iso(at), "approx_m": GRID_M}
    return orjson.dumps(body)


class _Driver:
    """What the fan-out remembers about one driver that sends fixes to this worker."""

    __slots__ = ("approx", "last_customer_at", "last_fix_at", "org_id", "recorded_at", "vis")

    def __init__(self, org_id: int) -> None:
        self.org_id = org_id
        self.approx = Approximator()
        self.vis: visibility.DriverVisibility | None = None  # None: not loaded yet
        self.last_fix_at = 0.0  # monotonic
        self.last_customer_at = 0.0  # monotonic
        self.recorded_at = 0.0


class LocationFanOut:
    def __init__(
        self,
        broker: Broker,
        engine: AsyncEngine,
        *,
        flush_interval_s: float = 0.05,
        refresh_interval_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._broker, self._engine, self._clock = broker, engine, clock
        self._flush_interval_s = flush_interval_s
        self._refresh_interval_s = refresh_interval_s
        self._drivers: dict[int, _Driver] = {}
        self._pending: dict[int, dict[int, Fix]] = {}  # org -> driver -> latest unsent fix
        self._dirty: set[int] = set()  # drivers whose visibility must be reloaded soon
        self._order_driver: dict[int, int] = {}  # order on a cached route -> its driver
        self._org_watch: dict[int, asyncio.Task[None]] = {}
        self._wake_refresh = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_full_refresh = 0.0

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._flush_loop(), name="fanout-flush"),
            asyncio.create_task(self._refresh_loop(), name="fanout-refresh"),
        ]

    async def close(self) -> None:
        tasks = [*self._tasks, *self._org_watch.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks, self._org_watch = [], {}

    # -- the port --------------------------------------------------------------------------

    async def position(self, driver: DriverRef, fix: Fix) -> None:
        """Take a driver's new current position (from the pipeline, before its commit)."""
        org_id, driver_id = driver.org_id, driver.driver_id
        self._pending.setdefault(org_id, {})[driver_id] = fix
        state = self._drivers.get(driver_id)
        if state is None:
            state = self._drivers[driver_id] = _Driver(org_id)
            self._dirty.add(driver_id)
            self._wake_refresh.set()
            if org_id not in self._org_watch:
                self._org_watch[org_id] = asyncio.create_task(self._watch_org(org_id))
        now = self._clock()
        state.last_fix_at = now
        changed = state.approx.update(fix.lat, fix.lng, fix.recorded_at)
        state.recorded_at = max(state.recorded_at, fix.recorded_at)
        if state.vis is None or not state.vis.visible:
            return
        if changed or now - state.last_customer_at >= HEARTBEAT_S:
            state.last_customer_at = now
            await self._publish_customers(state.vis.visible, state)

    # -- reads for the sockets and the polling endpoint ------------------------------------

    def customer_position(
        self, driver_id: int | None, order_id: int
    ) -> tuple[float, float, float] | None:
        """(lat, lng, recorded_at) approximately, if ``order_id``'s customer may see it now."""
        state = self._drivers.get(driver_id) if driver_id is not None else None
        if state is None or state.vis is None or order_id not in state.vis.visible:
            return None
        position = state.approx.position
        return (*position, state.recorded_at) if position else None

    def invalidate(self, order_id: int) -> None:
        """Something about ``order_id`` changed: reload its driver's visibility soon."""
        driver_id = self._order_driver.get(order_id)
        if driver_id is not None:
            self._dirty.add(driver_id)
            self._wake_refresh.set()

    # -- internals -------------------------------------------------------------------------

    async def _publish_customers(self, order_ids: frozenset[int], state: _Driver) -> None:
        position = state.approx.position
        if position is None:
            return
        for order_id in order_ids:
            message = customer_message(order_id, (*position, state.recorded_at))
            await self._broker.publish(order_channel(order_id), message)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval_s)
            pending, self._pending = self._pending, {}
            for org_id, fixes in pending.items():
                try:
                    await self._broker.publish(fleet_positions_channel(org_id), _frame(fixes))
                except Exception:
                    log.exception("publishing positions of organisation %s failed", org_id)

    async def _watch_org(self, org_id: int) -> None:
        """Order events of ``org_id``: a status change may move a driver's current stop."""
        failures = 0
        while True:
            try:
                async for message in self._broker.subscribe(org_channel(org_id)):
                    failures = 0
                    order_id = orjson.loads(message).get("order_id")
                    if isinstance(order_id, int):
                        self.invalidate(order_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                if failures == 1:
                    log.warning("watching organisation %s failed; retrying", org_id, exc_info=True)
                # Order events missed meanwhile: reload every driver's visibility soon.
                self._dirty.update(self._drivers)
                self._wake_refresh.set()
                await asyncio.sleep(RESUBSCRIBE.delay_s(failures))

    async def _refresh_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_refresh.wait(), self._refresh_interval_s)
            await asyncio.sleep(0.02)  # gather a burst of invalidations into one load
            self._wake_refresh.clear()
            try:
                await self._refresh()
            except Exception:
                log.exception("refreshing which customers may see which driver failed")
                await asyncio.sleep(1)

    async def _refresh(self) -> None:
        now = self._clock()
        for driver_id in [
            d for d, s in self._drivers.items() if now - s.last_fix_at > IDLE_FORGET_S
        ]:
            self._forget(driver_id)
        if now - self._last_full_refresh >= self._refresh_interval_s:
            self._last_full_refresh = now
            wanted = set(self._drivers)
        else:
            wanted = self._dirty & set(self._drivers)
        self._dirty -= wanted
        if not wanted:
            return
        loaded = await visibility.load(self._engine, wanted)
        for driver_id, vis in loaded.items():
            state = self._drivers.get(driver_id)
            if state is not None:
                await self._apply(driver_id, state, vis)

    async def _apply(
        self, driver_id: int, state: _Driver, vis: visibility.DriverVisibility
    ) -> None:
        if vis == state.vis:
            return  # the usual refresh: nothing moved; the cached sets stay (no churn)
        before = state.vis or visibility.NOBODY
        for order_id in before.on_route - vis.on_route:
            if self._order_driver.get(order_id) == driver_id:
                del self._order_driver[order_id]
        for order_id in vis.on_route:
            self._order_driver[order_id] = driver_id
        state.vis = vis
        for order_id in before.visible - vis.visible:
            await self._broker.publish(order_channel(order_id), customer_message(order_id, None))
        gained = vis.visible - before.visible
        if gained:
            await self._publish_customers(gained, state)

    def _forget(self, driver_id: int) -> None:
        state = self._drivers.pop(driver_id)
        if state.vis is not None:
            for order_id in state.vis.on_route:
                if self._order_driver.get(order_id) == driver_id:
                    del self._order_driver[order_id]


def positions_frame(fixes: dict[int, Fix]) -> bytes:
    """A dispatcher ``positions`` frame: driver id -> that driver's latest fix."""
    return _frame(fixes)


def _frame(fixes: dict[int, Fix]) -> bytes:
    positions = [dispatcher_position(d, f) for d, f in fixes.items()]
    return orjson.dumps({"type": "positions", "positions": positions})
