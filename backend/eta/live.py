"""Live ETAs and the off-route watch, fed by the location pipeline.

:meth:`LiveEtas.observe` runs on the event loop for each batch of a driver on a route
today (from :class:`backend.geofencing.live.LiveGeofences`): it checks the newest fix
against the planned path (off route for more than a minute: a driver event) and decides
whether the ETAs are due (the stops changed, the driver moved ``refresh_moved_m``, or
``refresh_every_s`` passed). One task recomputes the due drivers, routing in a worker
thread (:class:`backend.eta.tracker.RouteEtas`), and for what changed by a minute or more:

* stores it on the stop (``stops.eta_at``: the order, tracking page and board read it),
* publishes ``{"type": "eta", "order_id", "stop_id", "eta"}`` on the order's channel
  (the customer) and, with the ``driver_id``, on the organisation's (dispatchers),
* appends a ``late_risk`` event to an order whose ETA passed its window's end, before
  the end when it can (the dispatcher's exception).

A driver who sends nothing is still recomputed every ``refresh_every_s`` as time passes
(the ETAs of someone stuck slip). A worker's ETAs are for the drivers whose fixes it
receives; with several workers a driver's pace is learnt by each worker separately.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from backend.db import pending_messages, session_scope
from backend.eta.estimate import StopEta, StopPlan
from backend.eta.tracker import EtaConfig, EtaUpdate, RoutedStop, RouteEtas, RouteSource
from backend.geofencing.deviation import (
    DeviationChange,
    DeviationConfig,
    DeviationDetector,
    PlannedPath,
)
from backend.geofencing.route_fences import OpenStop
from backend.geofencing.route_stops import DriverDay
from backend.locations.fix import DriverRef, Fix
from backend.locations.metrics import Counters
from backend.models import DriverEvent, Order, Stop
from backend.orders import events
from backend.realtime.broker import Broker
from backend.routing.port import RoutingError
from shared.channels import order_channel, org_channel
from shared.enums import EventKind
from shared.geo import Point, haversine_m

log = logging.getLogger(__name__)

_TIMER_S = 5.0  # how often drivers without fixes are looked at


def _at(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


def routed(stop: OpenStop) -> RoutedStop:
    return RoutedStop(
        Point(stop.lat, stop.lng),
        StopPlan(
            stop.stop_id,
            stop.order_id,
            stop.service_s,
            stop.window_start,
            stop.window_end,
            stop.arrived_at,
        ),
    )


@dataclass(slots=True)
class _Driver:
    ref: DriverRef
    tracker: RouteEtas
    deviation: DeviationDetector
    fix: Fix | None = None  # the newest
    fix_seen_at: float = 0.0  # clock() when it came
    day: DriverDay | None = None
    stops_seen: int = -1  # id() of the stops list last computed with
    computed_at: float = float("-inf")  # the fix time last computed from
    computed_point: Point | None = None


class LiveEtas:
    def __init__(
        self,
        db: AsyncEngine,
        routing: RouteSource,
        broker: Broker | None = None,
        metrics: Counters | None = None,
        *,
        config: EtaConfig | None = None,
        deviation: DeviationConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._routing = routing
        self._broker = broker
        self.metrics = metrics or Counters()
        self.config = config or EtaConfig()
        self.deviation_config = deviation or DeviationConfig()
        self._clock = clock
        self._drivers: dict[int, _Driver] = {}
        self._due: set[int] = set()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()  # nothing due, nothing being computed
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.Task[None] | None = None
        self._writes: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(10_000)
        self._writer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._compute_loop(), name="eta-compute")
        self._timer = asyncio.create_task(self._timer_loop(), name="eta-timer")
        self._writer = asyncio.create_task(self._write_loop(), name="eta-writer")

    async def close(self) -> None:
        for task in (self._task, self._timer, self._writer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._timer = self._writer = None

    async def drain(self) -> None:
        """Wait until what is due now is computed and written (tests)."""
        await self._idle.wait()
        await self._writes.join()

    def forget(self, driver_id: int) -> None:
        self._drivers.pop(driver_id, None)
        self._due.discard(driver_id)

    def etas(self, driver_id: int) -> list[StopEta]:
        """The driver's ETAs as last computed (in stop order)."""
        state = self._drivers.get(driver_id)
        return list(state.tracker.last) if state is not None else []

    def observe(self, driver: DriverRef, fix: Fix, day: DriverDay) -> None:
        state = self._drivers.get(driver.driver_id)
        if state is None:
            state = self._drivers[driver.driver_id] = _Driver(
                driver, RouteEtas(self.config), DeviationDetector(None, self.deviation_config)
            )
        if state.fix is not None and fix.recorded_at <= state.fix.recorded_at:
            return
        state.fix, state.fix_seen_at, state.day = fix, self._clock(), day
        change = state.deviation.update(fix)
        if change is not None:
            self._queue_write("deviation", (driver, change))
        if self._is_due(state, fix, day):
            self._due.add(driver.driver_id)
            self._idle.clear()
            self._wake.set()

    def _is_due(self, state: _Driver, fix: Fix, day: DriverDay) -> bool:
        if not day.stops and not state.tracker.stops:
            return False
        if id(day.stops) != state.stops_seen:
            return True
        if fix.recorded_at - state.computed_at >= self.config.refresh_every_s:
            return True
        last = state.computed_point
        return last is None or haversine_m(last, Point(fix.lat, fix.lng)) >= (
            self.config.refresh_moved_m
        )

    async def _timer_loop(self) -> None:
        """Recompute drivers who went quiet: time passes for their ETAs too."""
        while True:
            await asyncio.sleep(_TIMER_S)
            now = self._clock()
            for driver_id, state in self._drivers.items():
                if state.fix is None or state.day is None or not state.day.stops:
                    continue
                quiet = now - state.fix_seen_at
                if quiet >= self.config.refresh_every_s:
                    self._due.add(driver_id)
            if self._due:
                self._idle.clear()
                self._wake.set()

    async def _compute_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            for driver_id in sorted(self._due):
                state = self._drivers.get(driver_id)
                self._due.discard(driver_id)
                if state is None or state.fix is None or state.day is None:
                    continue
                # A quiet driver: their last fix, moved on by the time since it came.
                quiet = max(self._clock() - state.fix_seen_at, 0.0)
                fix = state.fix
                if quiet >= self.config.refresh_every_s:
                    fix = fix._replace(recorded_at=fix.recorded_at + quiet)
                day = state.day
                try:
                    update, path = await asyncio.to_thread(self._compute, state, fix, day)
                except RoutingError as exc:
                    self.metrics.inc("eta_routing_failures")
                    log.warning("ETAs of driver %s: %s", driver_id, exc)
                    continue
                except Exception:
                    self.metrics.inc("eta_failures")
                    log.exception("ETAs of driver %s failed", driver_id)
                    continue
                state.stops_seen = id(day.stops)
                state.computed_at, state.computed_point = fix.recorded_at, Point(fix.lat, fix.lng)
                if path is not state.deviation.path:
                    state.deviation.replace_path(path)
                self.metrics.inc("eta_refreshes")
                if update is not None and (update.changed or update.late):
                    self._queue_write("etas", (state.ref, update))
            if not self._due:
                self._idle.set()

    def _compute(
        self, state: _Driver, fix: Fix, day: DriverDay
    ) -> tuple[EtaUpdate | None, PlannedPath | None]:
        """In a worker thread: one driver's tracker is only ever touched here."""
        tracker = state.tracker
        tracker.set_stops([routed(s) for s in day.stops], fix.recorded_at, day.departed)
        update = tracker.refresh(fix, self._routing)
        return update, tracker.planned_path

    def _queue_write(self, kind: str, item: Any) -> None:
        try:
            self._writes.put_nowait((kind, item))
        except asyncio.QueueFull:
            self.metrics.inc("eta_writes_dropped")

    async def _write_loop(self) -> None:
        while True:
            kind, item = await self._writes.get()
            try:
                if kind == "etas":
                    await self._store_etas(*item)
                else:
                    await self._store_deviation(*item)
            except Exception:
                self.metrics.inc("eta_write_failures")
                log.exception("storing %s failed", kind)
            finally:
                self._writes.task_done()

    async def _store_etas(self, driver: DriverRef, update: EtaUpdate) -> None:
        async with session_scope(self._db) as session:
            for eta in update.changed:
                await session.exec(
                    update_stop(eta.stop_id, driver.org_id).values(eta_at=_at(eta.eta))
                )
            for eta in update.late:
                order = await session.get(Order, eta.order_id)
                if order is None or order.org_id != driver.org_id:
                    continue
                assert eta.window_end is not None
                await events.record(
                    session,
                    order,
                    EventKind.LATE_RISK,
                    None,
                    details={
                        "source": "eta",
                        "stop_id": eta.stop_id,
                        "eta": _at(eta.eta).isoformat(),
                        "window_end": _at(eta.window_end).isoformat(),
                        "late_by_s": round(eta.late_by_s),
                    },
                )
        await self._publish_all(pending_messages(session))
        for eta in update.changed:
            body = {
                "type": "eta",
                "order_id": eta.order_id,
                "stop_id": eta.stop_id,
                "eta": _at(eta.eta).isoformat(),
            }
            staff = orjson.dumps({**body, "driver_id": driver.driver_id})
            await self._publish_all(
                [
                    (order_channel(eta.order_id), orjson.dumps(body)),
                    (org_channel(driver.org_id), staff),
                ]
            )
        self.metrics.add_all(
            {"etas_published": len(update.changed), "late_risks": len(update.late)}
        )

    async def _store_deviation(self, driver: DriverRef, change: DeviationChange) -> None:
        fix = change.fix
        async with session_scope(self._db) as session:
            row = DriverEvent(
                org_id=driver.org_id,
                driver_id=driver.driver_id,
                kind=change.kind,
                at=_at(fix.recorded_at),
                lat=fix.lat,
                lng=fix.lng,
                details={
                    "distance_m": round(change.distance_m),
                    "left_at": _at(change.left_at).isoformat(),
                },
            )
            session.add(row)
            await session.flush()
        message = orjson.dumps(
            {
                "type": "driver_event",
                "event_id": row.id,
                "driver_id": driver.driver_id,
                "kind": change.kind,
                "at": row.at.isoformat(),
                "lat": row.lat,
                "lng": row.lng,
                "details": row.details,
            }
        )
        await self._publish_all([(org_channel(driver.org_id), message)])
        self.metrics.inc(f"driver_{change.kind.value}")

    async def _publish_all(self, messages: Sequence[tuple[str, bytes]]) -> None:
        if self._broker is None:
            return
        for channel, message in messages:
            await self._broker.publish(channel, message)


def update_stop(stop_id: int, org_id: int) -> Any:
    return update(Stop).where(col(Stop.id) == stop_id, col(Stop.org_id) == org_id)
