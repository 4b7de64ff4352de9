"""Geofencing in the location pipeline: each active driver's route fences and their
organisation's zones and depots kept loaded, and every new fix checked against them.

:meth:`LiveGeofences.check` is called by the pipeline for each batch of new fixes; it is
plain code on the event loop (no query per fix). A driver's fences are loaded when their
first fix arrives, reloaded for every active driver every ``refresh_interval_s`` and soon
after :meth:`route_changed`; likewise an organisation's (:mod:`.org_fences`) when the
first of its drivers is active, with every refresh, and at once on
:meth:`org_fences_changed`.
A driver without fixes for ``IDLE_FORGET_S`` is dropped, and an organisation with no
active driver left. Zone events go to :class:`.zone_events.ZoneEvents`; stop fences,
with the driver's route as last loaded, go through :class:`.stop_rules.StopRules`
(arrived, arriving, left), whose actions :class:`.stop_actions.StopActions` applies off
the pipeline (a driver new to this process starts with the stops the database says they
arrived at: their fixes may have reached another worker until now); then the ETA watcher
(:mod:`backend.eta.live`) gets the newest fix. Depot events go to the optional sink.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.geofencing.engine import FenceEvent, GeofenceEngine, Scope
from backend.geofencing.org_fences import ZONE_PREFIX, org_fences
from backend.geofencing.org_places import load_org_places
from backend.geofencing.reach import Reach
from backend.geofencing.route_fences import STOP_PREFIX, FenceRadii, OpenStop, route_fences
from backend.geofencing.route_stops import DriverDay, load_open_stops
from backend.geofencing.stop_actions import StopActions
from backend.geofencing.stop_rules import ArrivalConfig, StopActionKind, StopRules
from backend.geofencing.zone_events import ZoneEvents
from backend.locations.fix import DriverRef, Fix
from backend.locations.metrics import Counters
from shared.geo import Point

log = logging.getLogger(__name__)

IDLE_FORGET_S = 600.0
_REFRESH_CHUNK = 200  # drivers whose stops are loaded and applied between two fixes' turns
_REACH_CHUNK = 2  # drivers whose stops are routed per hop to a worker thread
BACKGROUND_SHARE = 0.15  # of one core, at most, for routing work behind the live picture


def budget_pause(busy_s: float, share: float = BACKGROUND_SHARE) -> float:
    """How long to rest after ``busy_s`` of work to use at most ``share`` of a core (the
    worker thread still holds the GIL the event loop needs)."""
    return busy_s * (1.0 / share - 1.0)


class FenceSink(Protocol):
    def fence_events(self, events: Sequence[FenceEvent]) -> None:
        """Take the events of stop and depot fences (zones have their own handler); must
        not block (schedule any database work)."""
        ...


class EtaWatcher(Protocol):
    """Keeps ETAs (and the off-route watch) for drivers as their fixes arrive."""

    def observe(self, driver: DriverRef, fix: Fix, day: DriverDay) -> None:
        """The driver's newest fix with their route as known; must not block."""
        ...

    def forget(self, driver_id: int) -> None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class LiveGeofences:
    def __init__(
        self,
        db: AsyncEngine,
        radii: FenceRadii | None = None,
        *,
        metrics: Counters | None = None,
        sink: FenceSink | None = None,
        zone_events: ZoneEvents | None = None,
        depot_m: float = 150.0,
        actions: StopActions | None = None,
        etas: "EtaWatcher | None" = None,
        reach: Reach | None = None,
        refresh_interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = GeofenceEngine()
        self.radii = radii or FenceRadii()
        self.metrics = metrics or Counters()
        self.sink = sink  # stop and depot events
        self.zone_events = zone_events or ZoneEvents(db, metrics=self.metrics)
        self.depot_m = depot_m
        self.rules = StopRules(ArrivalConfig(arrival_m=self.radii.arrival_m))
        self.actions = actions  # what the stop rules see, applied to the orders
        if actions is not None and actions.on_applied is None:
            actions.on_applied = self.route_changed
        self.etas = etas
        self.reach = reach  # where vehicles park for addresses off the road (None: no routing)
        self._reach_pending: dict[int, list[OpenStop]] = {}
        self._reach_task: asyncio.Task[None] | None = None
        self.days: dict[int, DriverDay] = {}  # active driver -> their route today
        self._db = db
        self._refresh_interval_s = refresh_interval_s
        self._clock = clock
        self._last_fix: dict[int, float] = {}  # driver -> clock() of their last fix
        self._org_of: dict[int, int] = {}  # active driver -> their organisation
        self._dirty: set[int] = set()
        self._loaded_orgs: set[int] = set()
        self._dirty_orgs: set[int] = set()
        # One organisation load at a time, so the last one started is the last one applied.
        self._org_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.zone_events.start()
        if self.actions is not None:
            self.actions.start()
        if self.etas is not None:
            await self.etas.start()
        self._task = asyncio.create_task(self._refresh_loop(), name="geofence-refresh")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.zone_events.close()
        if self._reach_task is not None:
            self._reach_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reach_task
        if self.actions is not None:
            await self.actions.close()
        if self.etas is not None:
            await self.etas.close()

    def check(self, driver: DriverRef, fixes: Sequence[Fix]) -> list[FenceEvent]:
        """The fence events of a driver's new fixes: zone events to the zone handler, the
        others to the sink."""
        driver_id = driver.driver_id
        if driver_id not in self._last_fix:
            self.route_changed(driver_id)
            self._org_of[driver_id] = driver.org_id
            if driver.org_id not in self._loaded_orgs:
                self._dirty_orgs.add(driver.org_id)
        self._last_fix[driver_id] = self._clock()
        events = self.engine.check(driver, fixes)
        if events:
            self.metrics.add_all(_counts(events))
            zones = [e for e in events if e.fence.key.startswith(ZONE_PREFIX)]
            others = [e for e in events if not e.fence.key.startswith(ZONE_PREFIX)]
            try:
                if zones:
                    self.zone_events.handle(driver, zones)
            except Exception:  # like a sink's failure, it must not fail the sender's fixes
                self.metrics.inc("zone_event_failures", len(zones))
                log.exception("handling zone events of driver %s failed", driver_id)
            if others and self.sink is not None:
                try:
                    self.sink.fence_events(others)
                except Exception:  # a sink's failure must not fail the sender's fixes
                    self.metrics.inc("fence_sink_failures")
                    log.exception("handling fence events of driver %s failed", driver_id)
        day = self.days.get(driver_id)
        if day is not None and fixes:
            try:
                self._follow_route(driver, day, events, fixes)
            except Exception:  # automatic status and ETAs must not fail the sender's fixes
                self.metrics.inc("stop_rule_failures")
                log.exception("following the route of driver %s failed", driver_id)
        return events

    def _follow_route(
        self, driver: DriverRef, day: DriverDay, events: Sequence[FenceEvent], fixes: Sequence[Fix]
    ) -> None:
        """Arrived/arriving/left from the stop rules, then the ETAs' turn."""
        driver_id = driver.driver_id
        stop_events = [e for e in events if e.fence.key.startswith(STOP_PREFIX)]
        head_id = day.stops[0].stop_id if day.stops else None
        quiet = (
            not stop_events
            and not self.engine.is_inside_any(driver_id)
            and self.rules.quiet(driver_id, head_id)
        )
        if not quiet and (day.stops or self.rules.arrived(driver_id)):
            actions = self.rules.apply(
                driver_id, day.stops, stop_events, self.engine.inside(driver_id), fixes
            )
            for action in actions:
                if action.kind is StopActionKind.ARRIVED:  # known here before the reload
                    day.stops = [
                        replace(s, arrived_at=action.at) if s.stop_id == action.stop.stop_id
                        else s
                        for s in day.stops
                    ]  # fmt: skip
            if actions and self.actions is not None:
                self.actions.handle(driver, actions)
        if self.etas is not None:
            newest = max(fixes, key=lambda f: f.recorded_at)
            self.etas.observe(driver, newest, day)

    def route_changed(self, driver_id: int) -> None:
        """Reload ``driver_id``'s fences soon (a route published, a stop done or added)."""
        self._dirty.add(driver_id)
        self._wake.set()

    async def org_fences_changed(self, org_id: int) -> None:
        """The zones or depots of ``org_id`` changed (committed): if a driver of it is
        active here, reload them before returning, so their next fix meets the change.
        Never raises: a failed load is retried by the refresh loop."""
        if org_id not in self.active_orgs():
            return
        try:
            await self.refresh_orgs([org_id])
        except Exception:
            self.metrics.inc("fence_refresh_failures")
            log.exception("loading the zones of organisation %s failed; retrying", org_id)
            self._dirty_orgs.add(org_id)
            self._wake.set()

    def active_orgs(self) -> set[int]:
        """The organisations with a driver whose fixes arrive here."""
        return set(self._org_of.values())

    async def refresh(self, driver_ids: Sequence[int]) -> None:
        """Load the route fences of ``driver_ids`` now: a few hundred drivers at a time,
        fixes served in between. A driver whose stops did not change keeps their day as
        it was (fences, stop rules and ETAs have nothing new to look at)."""
        ids = list(driver_ids)
        for start in range(0, len(ids), _REFRESH_CHUNK):
            if start:
                await asyncio.sleep(0)
            days = await load_open_stops(self._db, ids[start : start + _REFRESH_CHUNK])
            if self.reach is not None:
                await self._add_parking(days)
            for driver_id, day in days.items():
                old = self.days.get(driver_id)
                if old is not None and old.stops == day.stops and old.departed == day.departed:
                    continue
                self.rules.seed(driver_id, _arrived_elsewhere(old, day))
                self.engine.replace_scope(
                    Scope.driver(driver_id), route_fences(driver_id, day.stops, self.radii)
                )
                self.days[driver_id] = day

    async def _add_parking(self, days: dict[int, DriverDay]) -> None:
        """Where vehicles park for the stops already known; the others are routed in the
        background (a few drivers at a time, a bounded share of the CPU) and their fences
        widened at the next load."""
        reach = self.reach
        assert reach is not None
        for driver_id, day in days.items():
            day.stops = reach.apply(day.stops, route_unknown=False)
            if any(not reach.known(Point(s.lat, s.lng)) for s in day.stops):
                self._reach_pending[driver_id] = day.stops
        if self._reach_pending and self._reach_task is None:
            self._reach_task = asyncio.create_task(self._reach_loop(), name="geofence-reach")

    async def _reach_loop(self) -> None:
        reach = self.reach
        assert reach is not None
        try:
            while self._reach_pending:
                chunk = list(self._reach_pending.items())[:_REACH_CHUNK]
                for driver_id, _ in chunk:
                    del self._reach_pending[driver_id]
                started = time.perf_counter()
                try:
                    await asyncio.to_thread(_reach_all, reach, [stops for _, stops in chunk])
                except Exception:
                    log.exception("finding where vehicles park failed")
                for driver_id, _ in chunk:
                    self.route_changed(driver_id)
                await asyncio.sleep(budget_pause(time.perf_counter() - started))
        finally:
            self._reach_task = None

    async def refresh_orgs(self, org_ids: Iterable[int]) -> None:
        """Load the zone and depot fences of ``org_ids`` now."""
        async with self._org_lock:
            places = await load_org_places(self._db, org_ids)
            for org_id, found in places.items():
                fences = org_fences(found, self.depot_m, self.radii.dwell_s)
                self.engine.replace_scope(Scope.org(org_id), fences)
                self.zone_events.set_zones(org_id, found.zones)
                self._loaded_orgs.add(org_id)

    def _forget_idle(self) -> None:
        cutoff = self._clock() - IDLE_FORGET_S
        for driver_id in [d for d, at in self._last_fix.items() if at < cutoff]:
            del self._last_fix[driver_id]
            self._org_of.pop(driver_id, None)
            self.days.pop(driver_id, None)
            self.rules.forget(driver_id)
            if self.etas is not None:
                self.etas.forget(driver_id)
            self.engine.replace_scope(Scope.driver(driver_id), [])
            self.engine.forget_driver(driver_id)
        for org_id in self._loaded_orgs - self.active_orgs():
            self._loaded_orgs.discard(org_id)
            self.engine.replace_scope(Scope.org(org_id), [])
            self.zone_events.set_zones(org_id, [])

    async def _refresh_loop(self) -> None:
        last_full = self._clock()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._refresh_interval_s)
            self._wake.clear()
            try:
                if self._clock() - last_full >= self._refresh_interval_s:
                    last_full = self._clock()
                    self._forget_idle()
                    self._dirty.clear()
                    self._dirty_orgs.clear()
                    await self.refresh(list(self._last_fix))
                    await self.refresh_orgs(self.active_orgs())
                else:
                    if self._dirty:
                        dirty, self._dirty = self._dirty, set()
                        await self.refresh(list(dirty))
                    if self._dirty_orgs:
                        dirty_orgs, self._dirty_orgs = self._dirty_orgs, set()
                        await self.refresh_orgs(dirty_orgs)
            except Exception:
                log.exception("loading fences failed; retrying")
                self.metrics.inc("fence_refresh_failures")
            await asyncio.sleep(0.05)  # gather the changes of a burst into one query


def _arrived_elsewhere(old: DriverDay | None, day: DriverDay) -> list[OpenStop]:
    """The stops the database says the driver arrived at while this process did not know
    it (their fixes reached another worker then, or this one before a restart)."""
    known = {s.stop_id for s in old.stops if s.arrived_at is not None} if old else set()
    return [s for s in day.stops if s.arrived_at is not None and s.stop_id not in known]


def _reach_all(reach: Reach, routes: list[list[OpenStop]]) -> None:
    for stops in routes:
        reach.apply(stops)


def _counts(events: Sequence[FenceEvent]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in events:
        key = f"fence_{event.transition.value}"
        counts[key] = counts.get(key, 0) + 1
    return counts
