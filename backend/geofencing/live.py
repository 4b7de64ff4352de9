"""Geofencing in the location pipeline: each active driver's route fences kept loaded, and
every new fix checked against them (and against their organisation's fences).

:meth:`LiveGeofences.check` is called by the pipeline for each batch of new fixes; it is
plain code on the event loop (no query per fix). A driver's fences are loaded when their
first fix arrives, reloaded for every active driver every ``refresh_interval_s`` and soon
after :meth:`route_changed`; a driver without fixes for ``IDLE_FORGET_S`` is dropped.
What the events cause (automatic status, exceptions) is the sink's business.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.geofencing.engine import FenceEvent, GeofenceEngine, Scope
from backend.geofencing.route_fences import FenceRadii, route_fences
from backend.geofencing.route_stops import load_open_stops
from backend.locations.fix import DriverRef, Fix
from backend.locations.metrics import Counters

log = logging.getLogger(__name__)

IDLE_FORGET_S = 600.0


class FenceSink(Protocol):
    def fence_events(self, events: Sequence[FenceEvent]) -> None:
        """Take events; must not block (schedule any database work)."""
        ...


class LiveGeofences:
    def __init__(
        self,
        db: AsyncEngine,
        radii: FenceRadii | None = None,
        *,
        metrics: Counters | None = None,
        sink: FenceSink | None = None,
        refresh_interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = GeofenceEngine()
        self.radii = radii or FenceRadii()
        self.metrics = metrics or Counters()
        self.sink = sink
        self._db = db
        self._refresh_interval_s = refresh_interval_s
        self._clock = clock
        self._last_fix: dict[int, float] = {}  # driver -> clock() of their last fix
        self._dirty: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._refresh_loop(), name="geofence-refresh")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def check(self, driver: DriverRef, fixes: Sequence[Fix]) -> list[FenceEvent]:
        """The fence events of a driver's new fixes, handed to the sink too."""
        driver_id = driver.driver_id
        if driver_id not in self._last_fix:
            self.route_changed(driver_id)
        self._last_fix[driver_id] = self._clock()
        events = self.engine.check(driver, fixes)
        if events:
            self.metrics.add_all(_counts(events))
            if self.sink is not None:
                try:
                    self.sink.fence_events(events)
                except Exception:  # a sink's failure must not fail the sender's fixes
                    self.metrics.inc("fence_sink_failures")
                    log.exception("handling fence events of driver %s failed", driver_id)
        return events

    def route_changed(self, driver_id: int) -> None:
        """Reload ``driver_id``'s fences soon (a route published, a stop done or added)."""
        self._dirty.add(driver_id)
        self._wake.set()

    async def refresh(self, driver_ids: Sequence[int]) -> None:
        """Load the route fences of ``driver_ids`` now."""
        stops = await load_open_stops(self._db, driver_ids)
        for driver_id, open_stops in stops.items():
            self.engine.replace_scope(
                Scope.driver(driver_id), route_fences(driver_id, open_stops, self.radii)
            )

    def _forget_idle(self) -> None:
        cutoff = self._clock() - IDLE_FORGET_S
        for driver_id in [d for d, at in self._last_fix.items() if at < cutoff]:
            del self._last_fix[driver_id]
            self.engine.replace_scope(Scope.driver(driver_id), [])
            self.engine.forget_driver(driver_id)

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
                    await self.refresh(list(self._last_fix))
                elif self._dirty:
                    dirty, self._dirty = self._dirty, set()
                    await self.refresh(list(dirty))
            except Exception:
                log.exception("loading route fences failed; retrying")
                self.metrics.inc("fence_refresh_failures")
            await asyncio.sleep(0.05)  # gather the changes of a burst into one query


def _counts(events: Sequence[FenceEvent]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in events:
        key = f"fence_{event.transition.value}"
        counts[key] = counts.get(key, 0) + 1
    return counts
