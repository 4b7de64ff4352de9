"""Geofencing in the location pipeline: each active driver's route fences and their
organisation's zones and depots kept loaded, and every new fix checked against them.

:meth:`LiveGeofences.check` is called by the pipeline for each batch of new fixes; it is
plain code on the event loop (no query per fix). A driver's fences are loaded when their
first fix arrives, reloaded for every active driver every ``refresh_interval_s`` and soon
after :meth:`route_changed`; likewise an organisation's (:mod:`.org_fences`) when the
first of its drivers is active, with every refresh, and at once on
:meth:`org_fences_changed`.
A driver without fixes for ``IDLE_FORGET_S`` is dropped, and an organisation with no
active driver left. Zone events go to :class:`.zone_events.ZoneEvents`; what the others
(stops, depots) cause (automatic status, exceptions) is the sink's business.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.geofencing.engine import FenceEvent, GeofenceEngine, Scope
from backend.geofencing.org_fences import ZONE_PREFIX, org_fences
from backend.geofencing.org_places import load_org_places
from backend.geofencing.route_fences import FenceRadii, route_fences
from backend.geofencing.route_stops import load_open_stops
from backend.geofencing.zone_events import ZoneEvents
from backend.locations.fix import DriverRef, Fix
from backend.locations.metrics import Counters

log = logging.getLogger(__name__)

IDLE_FORGET_S = 600.0


class FenceSink(Protocol):
    def fence_events(self, events: Sequence[FenceEvent]) -> None:
        """Take the events of stop and depot fences (zones have their own handler); must
        not block (schedule any database work)."""
        ...


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
        refresh_interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = GeofenceEngine()
        self.radii = radii or FenceRadii()
        self.metrics = metrics or Counters()
        self.sink = sink  # stop and depot events
        self.zone_events = zone_events or ZoneEvents(db, metrics=self.metrics)
        self.depot_m = depot_m
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
        self._task = asyncio.create_task(self._refresh_loop(), name="geofence-refresh")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.zone_events.close()

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
        return events

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
        """Load the route fences of ``driver_ids`` now."""
        stops = await load_open_stops(self._db, driver_ids)
        for driver_id, open_stops in stops.items():
            self.engine.replace_scope(
                Scope.driver(driver_id), route_fences(driver_id, open_stops, self.radii)
            )

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


def _counts(events: Sequence[FenceEvent]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in events:
        key = f"fence_{event.transition.value}"
        counts[key] = counts.get(key, 0) + 1
    return counts
