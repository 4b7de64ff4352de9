"""What a driver crossing a zone's border causes: a driver event (``zone_entered`` /
``zone_exited``) in the database, and a message to the organisation's dispatchers once
it is committed. Staying inside a zone with a dwell time is announced, not stored.

Messages on :func:`shared.channels.org_channel`::

    {"type": "driver_event", "event_id", "driver_id", "kind", "at", "lat", "lng",
     "details": {"zone_id", "name", "kind"}}
    {"type": "zone_dwell", "driver_id", "zone_id", "name", "kind", "at", "lat", "lng"}

:meth:`ZoneEvents.handle` runs inside the location pipeline, so it only queues: one writer
task stores what is queued in one transaction, in order, then publishes. A write that
keeps failing is counted (``zone_event_failures``) and dropped after a few tries; a full
queue drops and counts too (``zone_events_dropped``). The fixes themselves never wait for
any of it, nor fail with it.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import session_scope
from backend.geofencing.engine import FenceEvent, Transition
from backend.geofencing.org_fences import OrgZone, parse_zone_key
from backend.locations.fix import DriverRef, Fix
from backend.locations.metrics import Counters
from backend.models import DriverEvent
from backend.realtime.broker import Broker
from shared.channels import org_channel
from shared.enums import DriverEventKind

log = logging.getLogger(__name__)

_KINDS = {
    Transition.ENTER: DriverEventKind.ZONE_ENTERED,
    Transition.EXIT: DriverEventKind.ZONE_EXITED,
}
_BATCH = 500  # events per transaction at most


@dataclass(frozen=True, slots=True)
class _Crossing:
    driver: DriverRef
    zone: OrgZone
    transition: Transition
    fix: Fix


class ZoneEvents:
    """Zone crossings of one worker's drivers: queued by :meth:`handle`, stored and
    announced in order by one writer task."""

    def __init__(
        self,
        db: AsyncEngine,
        broker: Broker | None = None,
        metrics: Counters | None = None,
        *,
        max_queued: int = 10_000,
        retry_delays_s: Sequence[float] = (0.2, 1.0, 5.0),
    ) -> None:
        self.metrics = metrics or Counters()
        self._db = db
        self._broker = broker
        self._retry_delays_s = tuple(retry_delays_s)
        self._zones: dict[int, dict[int, OrgZone]] = {}  # org -> zone id -> zone
        self._queue: asyncio.Queue[_Crossing] = asyncio.Queue(max_queued)
        self._task: asyncio.Task[None] | None = None

    def set_zones(self, org_id: int, zones: Sequence[OrgZone]) -> None:
        """The active zones of ``org_id`` as just loaded (their names for the events)."""
        if zones:
            self._zones[org_id] = {zone.zone_id: zone for zone in zones}
        else:
            self._zones.pop(org_id, None)

    def handle(self, driver: DriverRef, events: Sequence[FenceEvent]) -> None:
        """Queue what ``events`` (of zone fences) cause; never blocks."""
        known = self._zones.get(driver.org_id, {})
        for event in events:
            zone_id = parse_zone_key(event.fence.key)
            zone = known.get(zone_id) if zone_id is not None else None
            if zone is None:  # a fence of another kind, or a zone unloaded meanwhile
                continue
            try:
                self._queue.put_nowait(_Crossing(driver, zone, event.transition, event.fix))
            except asyncio.QueueFull:
                self.metrics.inc("zone_events_dropped")
        if self._task is None and not self._queue.empty():
            self.start()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._write_loop(), name="zone-events")

    async def drain(self) -> None:
        """Wait until everything queued so far is stored and announced (or given up)."""
        await self._queue.join()

    async def close(self, timeout_s: float = 5.0) -> None:
        """Store what is queued (up to ``timeout_s``), then stop."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drain(), timeout_s)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < _BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            except Exception:  # never let the loop die: the next crossings must still count
                self.metrics.inc("zone_event_failures", len(batch))
                log.exception("zone events lost")
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[_Crossing]) -> None:
        stored = await self._store([c for c in batch if c.transition in _KINDS])
        rows = iter(stored)
        for crossing in batch:
            if crossing.transition not in _KINDS:
                await self._publish(crossing.driver.org_id, _dwell_message(crossing))
            elif stored:  # given up: nothing to point a message at
                await self._publish(crossing.driver.org_id, driver_event_message(next(rows)))

    async def _store(self, crossings: list[_Crossing]) -> list[DriverEvent]:
        """The rows stored, in order; [] once the retries are spent."""
        if not crossings:
            return []
        for delay_s in (*self._retry_delays_s, None):
            rows = [_row(c) for c in crossings]  # fresh objects for a fresh session
            try:
                async with session_scope(self._db) as session:
                    session.add_all(rows)
            except Exception:
                if delay_s is None:
                    self.metrics.inc("zone_event_failures", len(rows))
                    log.exception("storing %d zone event(s) failed; given up", len(rows))
                    return []
                log.warning("storing zone events failed; retrying in %s s", delay_s)
                await asyncio.sleep(delay_s)
            else:
                self.metrics.inc("zone_events_stored", len(rows))
                return rows
        return []

    async def _publish(self, org_id: int, message: dict[str, Any]) -> None:
        if self._broker is None:
            return
        try:
            await self._broker.publish(org_channel(org_id), orjson.dumps(message))
        except Exception:
            self.metrics.inc("zone_event_publish_failures")
            log.exception("announcing a zone event of organisation %s failed", org_id)


def _at(fix: Fix) -> datetime:
    return datetime.fromtimestamp(fix.recorded_at, UTC)


def _row(crossing: _Crossing) -> DriverEvent:
    zone = crossing.zone
    return DriverEvent(
        org_id=crossing.driver.org_id,
        driver_id=crossing.driver.driver_id,
        kind=_KINDS[crossing.transition],
        at=_at(crossing.fix),
        lat=crossing.fix.lat,
        lng=crossing.fix.lng,
        details={"zone_id": zone.zone_id, "name": zone.name, "kind": zone.kind.value},
    )


def driver_event_message(row: DriverEvent) -> dict[str, Any]:
    """The live message of a stored driver event (also replayed by the fleet event stream)."""
    return {
        "type": "driver_event",
        "event_id": row.id,
        "driver_id": row.driver_id,
        "kind": row.kind.value,
        "at": row.at.isoformat(),
        "lat": row.lat,
        "lng": row.lng,
        "details": row.details,
    }


def _dwell_message(crossing: _Crossing) -> dict[str, Any]:
    zone = crossing.zone
    return {
        "type": "zone_dwell",
        "driver_id": crossing.driver.driver_id,
        "zone_id": zone.zone_id,
        "name": zone.name,
        "kind": zone.kind.value,
        "at": _at(crossing.fix).isoformat(),
        "lat": crossing.fix.lat,
        "lng": crossing.fix.lng,
    }
