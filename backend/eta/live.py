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
receives; with several workers a driver's pace is learnt by each worker separately, and a
quiet driver whose fixes now reach another worker (a newer shared position,
:mod:`backend.eta.handover`) is let go of rather than recomputed from a stale fix.
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
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import pending_messages, session_scope
from backend.eta.estimate import StopPlan
from backend.eta.handover import SharedFixTimes, handed_over
from backend.eta.late_risk import record_late_risk
from backend.eta.tracker import EtaConfig, EtaUpdate, RoutedStop, RouteEtas, moved_on
from backend.geofencing.deviation import (
    DeviationChange,
    DeviationConfig,
    DeviationDetector,
    PlannedPath,
)
from backend.geofencing.live import budget_pause
from backend.geofencing.route_fences import OpenStop
from backend.geofencing.route_stops import DriverDay
from backend.locations.fix import DriverRef, Fix
from backend.locations.metrics import Counters
from backend.models import DriverEvent, Stop
from backend.notifications.hook import on_etas
from backend.realtime.broker import Broker
from backend.routing.port import RouteSource, RoutingError
from shared.channels import order_channel, org_channel
from shared.geo import Point

log = logging.getLogger(__name__)

_TIMER_S = 5.0  # how often drivers without fixes are looked at (at most; see _timer_loop)
_COMPUTE_CHUNK = 4  # drivers per hop to the worker thread (short hops: the loop waits on the GIL)
_DEVIATION_EVERY_S = 5.0  # a fix checked against the planned route this often per driver
_WRITE_LINGER_S = 0.2  # gather what comes meanwhile into the same transaction
_WRITE_BATCH = 2_000


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
    deviation_checked_at: float = float("-inf")


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
        shared: SharedFixTimes | None = None,
    ) -> None:
        self._db = db
        self._routing = routing
        self._broker = broker
        self.metrics = metrics or Counters()
        self.config = config or EtaConfig()
        self.deviation_config = deviation or DeviationConfig()
        self._clock = clock
        # Every worker's newest fix per driver (REDIS_URL); None: one worker, no hand-over.
        self._shared = shared
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

    def observe(self, driver: DriverRef, fix: Fix, day: DriverDay) -> None:
        state = self._drivers.get(driver.driver_id)
        if state is None:
            state = self._drivers[driver.driver_id] = _Driver(
                driver, RouteEtas(self.config), DeviationDetector(None, self.deviation_config)
            )
        if state.fix is not None and fix.recorded_at <= state.fix.recorded_at:
            return
        state.fix, state.fix_seen_at, state.day = fix, self._clock(), day
        if fix.recorded_at - state.deviation_checked_at >= _DEVIATION_EVERY_S:
            state.deviation_checked_at = fix.recorded_at
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
        return moved_on(self.config, state.computed_at, state.computed_point, fix)

    async def _timer_loop(self) -> None:
        """Recompute drivers who went quiet: time passes for their ETAs too."""
        # Twice per refresh period at least: a quiet driver is looked at soon after.
        tick_s = min(_TIMER_S, self.config.refresh_every_s / 2)
        while True:
            await asyncio.sleep(tick_s)
            await self.recompute_quiet()

    async def recompute_quiet(self) -> None:
        """Make the quiet drivers due (no fix for ``refresh_every_s``), but first let go
        of those whose fixes now reach another worker."""
        now = self._clock()
        quiet = {
            driver_id: state
            for driver_id, state in self._drivers.items()
            if state.fix is not None
            and state.day is not None
            and state.day.stops
            and now - state.fix_seen_at >= self.config.refresh_every_s
        }
        if quiet and self._shared is not None:
            for driver_id in await self._let_go_of_handed_over(quiet, self._shared):
                quiet.pop(driver_id, None)
        self._due.update(quiet)
        if self._due:
            self._idle.clear()
            self._wake.set()

    async def _let_go_of_handed_over(
        self, quiet: dict[int, "_Driver"], shared: SharedFixTimes
    ) -> set[int]:
        """Forget the quiet drivers another worker has now; which ones. Without an answer
        from the shared store (Redis down), none: their ETAs slip here as before."""
        last = {d: state.fix.recorded_at for d, state in quiet.items() if state.fix is not None}
        try:
            newest = await shared.recorded_at([state.ref for state in quiet.values()])
        except Exception:
            self.metrics.inc("eta_handover_check_failures")
            failures = self.metrics.get("eta_handover_check_failures")
            if failures in (1, 10) or failures % 100 == 0:
                log.exception("reading the shared positions of quiet drivers failed")
            return set()
        gone = handed_over(last, newest)
        for driver_id in gone:
            state = self._drivers.get(driver_id)
            # A fix that came here while Redis answered: the driver is back, keep them.
            fix = state.fix if state is not None else None
            if fix is not None and fix.recorded_at == last[driver_id]:
                self.forget(driver_id)
                self.metrics.inc("eta_drivers_handed_over")
        return gone

    async def _compute_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            jobs: list[tuple[_Driver, Fix, DriverDay]] = []
            for driver_id in sorted(self._due)[:_COMPUTE_CHUNK]:
                self._due.discard(driver_id)
                state = self._drivers.get(driver_id)
                if state is None or state.fix is None or state.day is None:
                    continue
                # A quiet driver: their last fix, moved on by the time since it came.
                quiet = max(self._clock() - state.fix_seen_at, 0.0)
                fix = state.fix
                if quiet >= self.config.refresh_every_s:
                    fix = fix._replace(recorded_at=fix.recorded_at + quiet)
                jobs.append((state, fix, state.day))
            # One hop to a worker thread for a chunk of them (routing blocks), then a rest
            # in proportion (a bounded share of a core): fixes come first.
            started = time.perf_counter()
            results = await asyncio.to_thread(self._compute_all, jobs)
            for (state, fix, day), result in zip(jobs, results, strict=True):
                if isinstance(result, BaseException):
                    self.metrics.inc(
                        "eta_routing_failures"
                        if isinstance(result, RoutingError)
                        else "eta_failures"
                    )
                    log.warning("ETAs of driver %s: %s", state.ref.driver_id, result)
                    continue
                update, path = result
                state.stops_seen = id(day.stops)
                state.computed_at, state.computed_point = fix.recorded_at, Point(fix.lat, fix.lng)
                if path is not state.deviation.path:
                    state.deviation.replace_path(path)
                self.metrics.inc("eta_refreshes")
                if update is not None and (update.changed or update.late):
                    self._queue_write("etas", (state.ref, update))
            await asyncio.sleep(budget_pause(time.perf_counter() - started))
            if self._due:
                self._wake.set()
            else:
                self._idle.set()

    def _compute_all(
        self, jobs: list[tuple[_Driver, Fix, DriverDay]]
    ) -> list[tuple[EtaUpdate | None, PlannedPath | None] | BaseException]:
        out: list[tuple[EtaUpdate | None, PlannedPath | None] | BaseException] = []
        for state, fix, day in jobs:
            try:
                out.append(self._compute(state, fix, day))
            except Exception as exc:  # one driver's failure is not the others'
                out.append(exc)
        return out

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
        """Everything queued, in one transaction: a burst of ETA changes is one commit,
        not one per driver (the history writer shares the database's write lock)."""
        while True:
            batch = [await self._writes.get()]
            await asyncio.sleep(_WRITE_LINGER_S)
            while len(batch) < _WRITE_BATCH and not self._writes.empty():
                batch.append(self._writes.get_nowait())
            try:
                await self._store(batch)
            except Exception:
                self.metrics.inc("eta_write_failures")
                log.exception("storing %d ETA updates and driver events failed", len(batch))
            finally:
                for _ in batch:
                    self._writes.task_done()

    async def _store(self, batch: list[tuple[str, Any]]) -> None:
        etas = [item for kind, item in batch if kind == "etas"]
        deviations = [item for kind, item in batch if kind == "deviation"]
        rows: list[tuple[DriverRef, DeviationChange, DriverEvent]] = []
        # The latest ETA of each stop in the batch.
        latest: dict[int, tuple[int, float]] = {}
        for driver, found in etas:
            for eta in found.changed:
                latest[eta.stop_id] = (driver.org_id, eta.eta)
        async with session_scope(self._db) as session:
            if latest:
                stops = Stop.__table__  # type: ignore[attr-defined]
                connection = await session.connection()
                await connection.execute(
                    sa.update(stops)
                    .where(
                        stops.c.id == sa.bindparam("stop_id"),
                        stops.c.org_id == sa.bindparam("org"),
                    )
                    .values(eta_at=sa.bindparam("eta")),
                    [
                        # In stop order: two workers' batches lock rows in the same order.
                        {"stop_id": stop_id, "org": org, "eta": _at(at)}
                        for stop_id, (org, at) in sorted(latest.items())
                    ],
                )
            late_risks = 0
            late = [(driver.org_id, eta) for driver, found in etas for eta in found.late]
            for org_id, eta in sorted(late, key=lambda item: item[1].stop_id):
                if await record_late_risk(session, org_id, eta):
                    late_risks += 1
            arriving = [(e.order_id, e.stop_id, e.eta) for _, found in etas for e in found.changed]
            await on_etas(session, arriving, time.time())  # the "arriving" notices
            for driver, change in deviations:
                row = _deviation_row(driver, change)
                session.add(row)
                rows.append((driver, change, row))
            await session.flush()
        await self._publish_all(pending_messages(session))
        for driver, found in etas:
            for eta in found.changed:
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
            self.metrics.inc("etas_published", len(found.changed))
        # Already on the timeline: raised by another worker, or before a restart.
        repeated = len(late) - late_risks
        self.metrics.add_all({"late_risks": late_risks, "late_risks_already_raised": repeated})
        for driver, change, row in rows:
            await self._publish_all([(org_channel(driver.org_id), _deviation_message(row))])
            self.metrics.inc(f"driver_{change.kind.value}")

    async def _publish_all(self, messages: Sequence[tuple[str, bytes]]) -> None:
        if self._broker is None:
            return
        for channel, message in messages:
            await self._broker.publish(channel, message)


def _deviation_row(driver: DriverRef, change: DeviationChange) -> DriverEvent:
    fix = change.fix
    return DriverEvent(
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


def _deviation_message(row: DriverEvent) -> bytes:
    return orjson.dumps(
        {
            "type": "driver_event",
            "event_id": row.id,
            "driver_id": row.driver_id,
            "kind": row.kind,
            "at": row.at.isoformat(),
            "lat": row.lat,
            "lng": row.lng,
            "details": row.details,
        }
    )
