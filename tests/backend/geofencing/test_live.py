"""Route fences loaded from the database and checked by the location pipeline."""

import asyncio
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import create_engine, session_scope
from backend.geofencing.engine import Scope
from backend.geofencing.route_fences import stop_key
from backend.geofencing.shapes import Circle
from backend.locations.fix import DriverRef, Fix
from backend.locations.pipeline import Pipeline, build_pipeline
from backend.migrate import upgrade
from backend.models import Order, Route, Stop
from shared.enums import OrderStatus, StopKind
from shared.geo import Point
from tests.conftest import make_settings
from tests.factories import create_org_with_users

DEPOT = Point(43.7300, 7.4200)
CUSTOMER = Point(43.7400, 7.4250)


@dataclass
class World:
    db: AsyncEngine
    pipeline: Pipeline
    driver: DriverRef
    pickup_stop: int
    dropoff_stop: int
    order_id: int


@pytest.fixture
async def world(tmp_path: object) -> AsyncIterator[World]:
    settings = make_settings(tmp_path)  # type: ignore[arg-type]
    db = create_engine(settings.resolved_database_url)
    await upgrade(db)
    org_id, _, _, driver_ids = await create_org_with_users(settings)
    async with session_scope(db) as session:
        route = Route(org_id=org_id, driver_id=driver_ids[0], service_date=datetime.now(UTC).date())
        order = Order(
            org_id=org_id, recipient_name="R", status=OrderStatus.ASSIGNED, driver_id=driver_ids[0]
        )
        session.add_all([route, order])
        await session.flush()
        assert order.id is not None
        stops = [
            Stop(
                org_id=org_id,
                order_id=order.id,
                kind=kind,
                address="a",
                lat=at.lat,
                lng=at.lng,
                route_id=route.id,
                sequence=n,
            )
            for n, (kind, at) in enumerate(((StopKind.PICKUP, DEPOT), (StopKind.DROPOFF, CUSTOMER)))
        ]
        session.add_all(stops)
        await session.flush()
        pickup, dropoff = (s.id for s in stops)
        assert pickup is not None
        assert dropoff is not None
        order_id = order.id
    pipeline = build_pipeline(settings, db)
    await pipeline.start()
    try:
        yield World(db, pipeline, DriverRef(org_id, driver_ids[0]), pickup, dropoff, order_id)
    finally:
        await pipeline.stop()
        await db.dispose()


def toward(target: Point, metres: float, t: float) -> Fix:
    """A fix ``metres`` south of ``target``."""
    return Fix(target.lat - metres / 111_195, target.lng, t, t, accuracy_m=5)


async def fences_loaded(w: World) -> set[str]:
    assert w.pipeline.geofences is not None
    for _ in range(100):
        keys = w.pipeline.geofences.engine.keys_of(Scope.driver(w.driver.driver_id))
        if keys:
            return keys
        await asyncio.sleep(0.05)
    return set()


async def test_a_drivers_first_fix_loads_their_route_fences(world: World) -> None:
    now = datetime.now(UTC).timestamp()
    await world.pipeline.ingest(world.driver, [toward(DEPOT, 3_000, now - 5)])
    assert await fences_loaded(world) == {
        stop_key(world.pickup_stop, "arrival"),
        stop_key(world.dropoff_stop, "arrival"),
        stop_key(world.dropoff_stop, "nearby"),  # drop-offs only: the customer's alert
    }


async def test_driving_to_the_customer_fires_nearby_then_arrival(world: World) -> None:
    now = datetime.now(UTC).timestamp()
    start = now - 600
    await world.pipeline.ingest(world.driver, [toward(CUSTOMER, 3_000, start)])
    await fences_loaded(world)
    # 15 m/s towards the customer, a fix every 10 s, then parked at the door.
    track = [toward(CUSTOMER, max(5.0, 3_000 - 150 * k), start + 10 * k) for k in range(1, 22)]
    await world.pipeline.ingest(world.driver, track)
    assert world.pipeline.geofences is not None
    inside = world.pipeline.geofences.engine.inside(world.driver.driver_id)
    assert inside == {
        stop_key(world.dropoff_stop, "nearby"),
        stop_key(world.dropoff_stop, "arrival"),
    }
    counts = world.pipeline.metrics.snapshot()
    assert counts["fence_enter"] == 2
    assert "fence_exit" not in counts


async def test_a_finished_stop_loses_its_fences_at_the_next_load(world: World) -> None:
    now = datetime.now(UTC).timestamp()
    await world.pipeline.ingest(world.driver, [toward(DEPOT, 3_000, now - 5)])
    await fences_loaded(world)
    async with session_scope(world.db) as session:
        order = await session.get(Order, world.order_id)
        assert order is not None
        order.status = OrderStatus.PICKED_UP  # the pickup is done, the drop-off is not
    assert world.pipeline.geofences is not None
    await world.pipeline.geofences.refresh([world.driver.driver_id])
    assert world.pipeline.geofences.engine.keys_of(Scope.driver(world.driver.driver_id)) == {
        stop_key(world.dropoff_stop, "arrival"),
        stop_key(world.dropoff_stop, "nearby"),
    }


async def test_a_reload_that_finds_nothing_new_leaves_the_day_alone(world: World) -> None:
    """The periodic reload of every active driver costs the drivers whose stops did not
    change nothing more: same day (so no ETA is recomputed for it), same fences."""
    now = datetime.now(UTC).timestamp()
    await world.pipeline.ingest(world.driver, [toward(DEPOT, 3_000, now - 5)])
    await fences_loaded(world)
    geofences = world.pipeline.geofences
    assert geofences is not None
    driver_id = world.driver.driver_id
    day = geofences.days[driver_id]
    fence = geofences.engine.get(stop_key(world.dropoff_stop, "arrival"))
    await geofences.refresh([driver_id])
    assert geofences.days[driver_id] is day
    assert geofences.engine.get(stop_key(world.dropoff_stop, "arrival")) is fence
    async with session_scope(world.db) as session:
        order = await session.get(Order, world.order_id)
        assert order is not None
        order.status = OrderStatus.PICKED_UP
    await geofences.refresh([driver_id])
    assert geofences.days[driver_id] is not day
    assert [s.stop_id for s in geofences.days[driver_id].stops] == [world.dropoff_stop]


def test_the_nearby_fence_must_be_wider_than_the_arrival_fence(tmp_path: object) -> None:
    with pytest.raises(ValidationError, match="GEOFENCE_NEARBY_M must be wider"):
        make_settings(tmp_path, geofence_arrival_m=300, geofence_nearby_m=200)  # type: ignore[arg-type]
    assert math.isclose(make_settings(tmp_path).geofence_nearby_m, 500)  # type: ignore[arg-type]


async def test_a_stop_with_its_own_radius_gets_that_arrival_fence(world: World) -> None:
    async with session_scope(world.db) as session:
        stop = await session.get(Stop, world.dropoff_stop)
        assert stop is not None
        stop.arrival_radius_m = 40.0
    assert world.pipeline.geofences is not None
    await world.pipeline.geofences.refresh([world.driver.driver_id])
    engine = world.pipeline.geofences.engine
    fence = engine.get(stop_key(world.dropoff_stop, "arrival"))
    assert fence is not None
    assert fence.shape == Circle(CUSTOMER, 40.0)
    pickup = engine.get(stop_key(world.pickup_stop, "arrival"))
    assert pickup is not None
    assert pickup.shape == Circle(DEPOT, 150.0)  # the default
