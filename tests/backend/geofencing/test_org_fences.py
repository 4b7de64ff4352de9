"""An organisation's zones and depots in the live geofences: loaded for its active drivers,
never for another organisation's, zone crossings stored and announced off the pipeline."""

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import create_engine, session_scope
from backend.geofencing.engine import FenceEvent, Scope, Transition
from backend.geofencing.live import LiveGeofences
from backend.geofencing.org_fences import depot_key, zone_key
from backend.geofencing.shapes import Circle
from backend.geofencing.zone_events import ZoneEvents
from backend.locations.fix import DriverRef, Fix
from backend.locations.metrics import Counters
from backend.locations.pipeline import build_pipeline
from backend.migrate import upgrade
from backend.models import Depot, DriverEvent, Zone
from shared.channels import org_channel
from shared.enums import DriverEventKind, ZoneKind
from shared.geo import Point
from tests.conftest import make_settings
from tests.factories import create_org_with_users

CENTER = Point(43.7384, 7.4246)
M_PER_DEG = 111_195.0


def at(north_m: float, east_m: float = 0.0) -> Point:
    return Point(
        CENTER.lat + north_m / M_PER_DEG,
        CENTER.lng + east_m / (M_PER_DEG * math.cos(math.radians(CENTER.lat))),
    )


def square(half_m: float, north_m: float = 0.0) -> list[list[float]]:
    corners = ((-1, -1), (-1, 1), (1, 1), (1, -1))
    return [list(at(north_m + a * half_m, b * half_m)) for a, b in corners]


def fix(north_m: float, t: float) -> Fix:
    p = at(north_m)
    return Fix(p.lat, p.lng, t, t, accuracy_m=5)


def drive(t0: float, distances: Sequence[float]) -> list[Fix]:
    """A fix every 10 s at each distance north of the centre."""
    return [fix(d, t0 + 10 * k) for k, d in enumerate(distances)]


THROUGH = [-1_000, -600, -200, 0, 200, 600, 1_000]  # south to north through the centre


@dataclass
class Org:
    id: int
    drivers: list[DriverRef]


class Published:
    """A broker that keeps what is published."""

    name = "fake"

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, object]]] = []

    async def publish(self, channel: str, message: bytes) -> None:
        self.messages.append((channel, orjson.loads(message)))

    def subscribe(self, channel: str) -> AsyncIterator[bytes]:
        raise NotImplementedError

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


class Sink:
    def __init__(self) -> None:
        self.events: list[FenceEvent] = []

    def fence_events(self, events: Sequence[FenceEvent]) -> None:
        self.events.extend(events)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(make_settings(tmp_path).resolved_database_url)
    await upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


async def new_org(tmp_path: Path) -> Org:
    org_id, _, _, driver_ids = await create_org_with_users(make_settings(tmp_path))
    return Org(org_id, [DriverRef(org_id, d) for d in driver_ids])


async def add_zone(db: AsyncEngine, org_id: int, **fields: Any) -> int:
    values: dict[str, Any] = {
        "name": "Old town",
        "kind": ZoneKind.RESTRICTED,
        "points": square(300),
        **fields,
    }
    async with session_scope(db) as session:
        zone = Zone(org_id=org_id, **values)
        session.add(zone)
        await session.flush()
        assert zone.id is not None
        return zone.id


async def add_depot(db: AsyncEngine, org_id: int, where: Point) -> int:
    async with session_scope(db) as session:
        depot = Depot(org_id=org_id, name="Hub", lat=where.lat, lng=where.lng)
        session.add(depot)
        await session.flush()
        assert depot.id is not None
        return depot.id


async def stored_events(db: AsyncEngine, driver_id: int) -> list[DriverEvent]:
    async with session_scope(db) as session:
        rows = await session.exec(
            select(DriverEvent)
            .where(DriverEvent.driver_id == driver_id)
            .order_by(col(DriverEvent.id))
        )
        return list(rows.all())


async def test_a_drivers_first_fix_loads_their_organisations_zones_and_depots(
    tmp_path: Path, db: AsyncEngine
) -> None:
    org = await new_org(tmp_path)
    zone_id = await add_zone(db, org.id)
    await add_zone(db, org.id, name="Switched off", active=False)
    depot_id = await add_depot(db, org.id, at(-2_000))
    pipeline = build_pipeline(make_settings(tmp_path, geofence_depot_m=80), db)
    await pipeline.start()
    try:
        now = datetime.now(UTC).timestamp()
        await pipeline.ingest(org.drivers[0], [fix(-3_000, now - 5)])
        assert pipeline.geofences is not None
        engine = pipeline.geofences.engine
        for _ in range(100):
            if engine.keys_of(Scope.org(org.id)):
                break
            await asyncio.sleep(0.05)
        assert engine.keys_of(Scope.org(org.id)) == {zone_key(zone_id), depot_key(depot_id)}
        depot = engine.get(depot_key(depot_id))
        assert depot is not None
        assert depot.shape == Circle(at(-2_000), 80.0)  # LASTMILE_GEOFENCE_DEPOT_M
    finally:
        await pipeline.stop()


async def test_crossing_a_zone_stores_and_announces_entered_then_exited(
    tmp_path: Path, db: AsyncEngine
) -> None:
    org = await new_org(tmp_path)
    zone_id = await add_zone(db, org.id)
    broker = Published()
    live = LiveGeofences(db, zone_events=ZoneEvents(db, broker))
    await live.refresh_orgs([org.id])
    driver = org.drivers[0]
    events = live.check(driver, drive(1_000.0, THROUGH))
    assert [(e.fence.key, e.transition) for e in events] == [
        (zone_key(zone_id), Transition.ENTER),
        (zone_key(zone_id), Transition.EXIT),
    ]
    await live.zone_events.drain()
    rows = await stored_events(db, driver.driver_id)
    assert [r.kind for r in rows] == [DriverEventKind.ZONE_ENTERED, DriverEventKind.ZONE_EXITED]
    entered, exited = rows
    assert (entered.lat, entered.lng) == at(-200)  # 100 m inside the 300 m half-width
    assert entered.at == datetime.fromtimestamp(1_020.0, UTC)
    # 600 m is beyond 300 m + the band; the exit is the second fix out there (1,000 m).
    assert exited.at == datetime.fromtimestamp(1_060.0, UTC)
    assert entered.details == {"zone_id": zone_id, "name": "Old town", "kind": "restricted"}
    assert [(channel, m["kind"], m["event_id"]) for channel, m in broker.messages] == [
        (org_channel(org.id), "zone_entered", entered.id),
        (org_channel(org.id), "zone_exited", exited.id),
    ]
    assert broker.messages[0][1]["driver_id"] == driver.driver_id
    await live.close()


async def test_another_organisations_driver_never_fires_the_zone(
    tmp_path: Path, db: AsyncEngine
) -> None:
    mine, theirs = await new_org(tmp_path), await new_org(tmp_path)
    await add_zone(db, mine.id)
    live = LiveGeofences(db)
    await live.refresh_orgs([mine.id, theirs.id])
    assert live.check(theirs.drivers[0], drive(1_000.0, THROUGH)) == []
    assert len(live.check(mine.drivers[0], drive(1_000.0, THROUGH))) == 2
    await live.zone_events.drain()
    assert await stored_events(db, theirs.drivers[0].driver_id) == []
    assert len(await stored_events(db, mine.drivers[0].driver_id)) == 2
    await live.close()


async def test_depot_events_go_to_the_sink_zone_events_do_not(
    tmp_path: Path, db: AsyncEngine
) -> None:
    org = await new_org(tmp_path)
    zone_id = await add_zone(db, org.id, dwell_s=15)
    depot_id = await add_depot(db, org.id, CENTER)
    sink, broker = Sink(), Published()
    live = LiveGeofences(db, sink=sink, zone_events=ZoneEvents(db, broker), depot_m=100)
    await live.refresh_orgs([org.id])
    # Into the depot yard (inside the zone too), 30 s there, then away.
    live.check(org.drivers[0], drive(1_000.0, [-1_000, -600, -20, 0, 10, 0, 600, 1_000]))
    assert [(e.fence.key, e.transition, e.fix.recorded_at) for e in sink.events] == [
        (depot_key(depot_id), Transition.ENTER, 1_020.0),
        (depot_key(depot_id), Transition.EXIT, 1_070.0),  # out 1,060-1,070: short of a dwell
    ]
    await live.zone_events.drain()
    kinds = [m["type"] if m["type"] != "driver_event" else m["kind"] for _, m in broker.messages]
    assert kinds == ["zone_entered", "zone_dwell", "zone_exited"]
    dwell = broker.messages[1][1]
    assert dwell["zone_id"] == zone_id
    assert dwell["at"] == datetime.fromtimestamp(1_040.0, UTC).isoformat()  # 15 s after 1,020
    await live.close()


async def test_a_zone_change_reaches_the_engine_before_org_fences_changed_returns(
    tmp_path: Path, db: AsyncEngine
) -> None:
    org = await new_org(tmp_path)
    live = LiveGeofences(db)
    live.check(org.drivers[0], [fix(-3_000, 1_000.0)])  # an active driver of the org
    zone_id = await add_zone(db, org.id)
    await live.org_fences_changed(org.id)
    assert live.engine.keys_of(Scope.org(org.id)) == {zone_key(zone_id)}
    async with session_scope(db) as session:
        zone = await session.get(Zone, zone_id)
        assert zone is not None
        zone.active = False
    await live.org_fences_changed(org.id)
    assert live.engine.keys_of(Scope.org(org.id)) == set()
    # An organisation with no active driver here is not loaded at all.
    other = await new_org(tmp_path)
    await add_zone(db, other.id)
    await live.org_fences_changed(other.id)
    assert live.engine.keys_of(Scope.org(other.id)) == set()
    await live.close()


async def test_a_stored_zone_that_cannot_be_fenced_does_not_hide_the_others(
    tmp_path: Path, db: AsyncEngine
) -> None:
    org = await new_org(tmp_path)
    broken = await add_zone(db, org.id, kind=ZoneKind.CORRIDOR, points=square(300), width_m=None)
    good = await add_zone(db, org.id)
    live = LiveGeofences(db)
    await live.refresh_orgs([org.id])
    assert live.engine.keys_of(Scope.org(org.id)) == {zone_key(good)}
    assert broken != good
    await live.close()


async def test_a_failing_event_write_is_counted_and_the_fixes_still_count(
    tmp_path: Path, db: AsyncEngine
) -> None:
    org = await new_org(tmp_path)
    await add_zone(db, org.id)
    metrics = Counters()
    live = LiveGeofences(
        db, metrics=metrics, zone_events=ZoneEvents(db, metrics=metrics, retry_delays_s=(0.01,))
    )
    await live.refresh_orgs([org.id])
    ghost = DriverRef(org.id, 999_999)  # no such driver: the rows break a foreign key
    events = live.check(ghost, drive(1_000.0, THROUGH))
    assert len(events) == 2  # the check itself is unaffected
    await live.zone_events.drain()
    assert metrics.get("zone_event_failures") == 2
    assert metrics.get("zone_events_stored") == 0
    # The writer is still alive: a real driver's crossing is stored afterwards.
    live.check(org.drivers[0], drive(1_000.0, THROUGH))
    await live.zone_events.drain()
    assert len(await stored_events(db, org.drivers[0].driver_id)) == 2
    await live.close()
