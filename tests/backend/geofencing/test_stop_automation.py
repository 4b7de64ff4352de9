"""Automatic status, ETAs and the off-route watch, through the real pipeline and database.

A driver's fixes go through :meth:`Pipeline.ingest` as the ingest endpoints hand them
over; the order's timeline, its stops and the messages on the in-process broker are what
the driver, the customer and the dispatcher would see.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import create_engine, session_scope
from backend.locations.fix import DriverRef, Fix
from backend.locations.pipeline import Pipeline, build_pipeline
from backend.migrate import upgrade
from backend.models import DriverEvent, Order, OrderEvent, Route, Stop
from backend.models.types import utcnow
from backend.orders import events
from backend.orders.serialize import orders_out
from backend.pod.inbox import exceptions
from backend.realtime.memory import MemoryBroker
from backend.routing.router import fallback_router
from shared.channels import driver_channel, order_channel, org_channel
from shared.enums import DriverEventKind, EventKind, OrderStatus, StopKind
from shared.geo import Point
from tests.conftest import make_settings
from tests.factories import create_org_with_users

DEPOT = Point(43.7300, 7.4200)
CUSTOMER = Point(43.7400, 7.4250)
M_PER_DEG = 111_195.0


def south_of(target: Point, metres: float, east_m: float = 0.0) -> Point:
    return Point(target.lat - metres / M_PER_DEG, target.lng + east_m / (M_PER_DEG * 0.7225))


def fix_at(p: Point, t: float, speed: float | None = None, accuracy: float = 6.0) -> Fix:
    return Fix(p.lat, p.lng, t, t, speed_mps=speed, accuracy_m=accuracy)


@dataclass
class Heard:
    """Messages on broker channels, as a live view receives them."""

    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def of(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [(c, m) for c, m in self.messages if m.get("type") == kind]


async def listen(broker: MemoryBroker, channels: list[str]) -> Heard:
    heard = Heard()

    async def collect(channel: str) -> None:
        async for message in broker.subscribe(channel):
            heard.messages.append((channel, orjson.loads(message)))

    heard.tasks = [asyncio.create_task(collect(c)) for c in channels]
    await asyncio.sleep(0.01)
    return heard


@dataclass
class World:
    db: AsyncEngine
    pipeline: Pipeline
    broker: MemoryBroker
    driver: DriverRef
    order_id: int
    pickup_stop: int | None
    dropoff_stop: int


async def make_world(
    tmp_path: object,
    status: OrderStatus,
    *,
    with_pickup: bool,
    window_end: datetime | None = None,
    **settings_overrides: object,
) -> AsyncIterator[World]:
    settings = make_settings(tmp_path, left_stop_grace_s=0.3, **settings_overrides)  # type: ignore[arg-type]
    db = create_engine(settings.resolved_database_url)
    await upgrade(db)
    org_id, _, _, driver_ids = await create_org_with_users(settings)
    async with session_scope(db) as session:
        route = Route(org_id=org_id, driver_id=driver_ids[0], service_date=datetime.now(UTC).date())
        order = Order(org_id=org_id, recipient_name="R", status=status, driver_id=driver_ids[0])
        session.add_all([route, order])
        await session.flush()
        assert order.id is not None
        # The order's history up to now, an hour ago: every change after that is newer.
        event = events.new_event(order, EventKind.STATUS_CHANGED, None, to_status=status)
        event.at = utcnow() - timedelta(hours=1)
        session.add(event)
        places = [(StopKind.DROPOFF, CUSTOMER)]
        if with_pickup:
            places.insert(0, (StopKind.PICKUP, DEPOT))
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
                window_end=window_end if kind is StopKind.DROPOFF else None,
            )
            for n, (kind, at) in enumerate(places)
        ]
        session.add_all(stops)
        await session.flush()
        ids = [s.id for s in stops]
        order_id = order.id
    broker = MemoryBroker()
    pipeline = build_pipeline(settings, db, broker=broker, routing=fallback_router(settings))
    await pipeline.start()
    try:
        yield World(
            db,
            pipeline,
            broker,
            DriverRef(org_id, driver_ids[0]),
            order_id,
            ids[0] if with_pickup else None,
            ids[-1],  # type: ignore[arg-type]
        )
    finally:
        await pipeline.stop()
        await db.dispose()


async def drive(w: World, points: list[Point], start: float, every_s: float = 5.0) -> float:
    """Send a fix every ``every_s`` at each point, in batches of three; the time after."""
    fixes = [fix_at(p, start + every_s * k) for k, p in enumerate(points)]
    for k in range(0, len(fixes), 3):
        await w.pipeline.ingest(w.driver, fixes[k : k + 3])
    return start + every_s * len(points)


def approach(target: Point, from_m: float, step_m: float) -> list[Point]:
    return [south_of(target, d) for d in range(int(from_m), 0, -int(step_m))]


async def settle(w: World) -> None:
    """Let the pipeline's background work catch up: fences loaded, actions applied."""
    geofences = w.pipeline.geofences
    assert geofences is not None
    await geofences.refresh([w.driver.driver_id])
    if geofences.actions is not None:
        await geofences.actions.drain()
    if geofences.etas is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(geofences.etas.drain(), 10)  # type: ignore[attr-defined]


async def timeline(w: World) -> list[OrderEvent]:
    async with session_scope(w.db) as session:
        rows = await session.exec(
            select(OrderEvent).where(OrderEvent.order_id == w.order_id).order_by(col(OrderEvent.id))
        )
        return list(rows.all())


async def status_of(w: World) -> OrderStatus:
    async with session_scope(w.db) as session:
        order = await session.get(Order, w.order_id)
        assert order is not None
        return OrderStatus(order.status)


async def set_status(w: World, target: OrderStatus) -> None:
    """A person's change (the driver's app, a dispatcher), now."""
    async with session_scope(w.db) as session:
        order = await session.get(Order, w.order_id)
        assert order is not None
        before = OrderStatus(order.status)
        order.status = target
        order.updated_at = utcnow()
        session.add(order)
        await events.record(
            session, order, EventKind.STATUS_CHANGED, None, from_status=before, to_status=target
        )
        if target is OrderStatus.PICKED_UP:
            rows = await session.exec(select(Stop).where(Stop.order_id == w.order_id))
            for stop in rows.all():
                if stop.kind == StopKind.PICKUP:
                    stop.actual_departure_at = utcnow()
                    session.add(stop)


Maker = Callable[..., AsyncIterator[World]]


@pytest.fixture
async def en_route(tmp_path: object) -> AsyncIterator[World]:
    async for w in make_world(tmp_path, OrderStatus.EN_ROUTE, with_pickup=False):
        yield w


@pytest.fixture
async def to_pickup(tmp_path: object) -> AsyncIterator[World]:
    async for w in make_world(tmp_path, OrderStatus.EN_ROUTE_TO_PICKUP, with_pickup=True):
        yield w


async def test_nearing_the_drop_off_makes_the_order_arriving_with_the_fix_that_did_it(
    en_route: World,
) -> None:
    w = en_route
    heard = await listen(w.broker, [order_channel(w.order_id)])
    start = datetime.now(UTC).timestamp() - 900
    await drive(w, [south_of(CUSTOMER, 3_000)], start)
    await settle(w)
    # 15 m/s north, a fix every 5 s: the 500 m "nearby" circle is crossed at 450 m.
    await drive(w, approach(CUSTOMER, 3_000, 75)[:36], start + 5)
    await settle(w)
    assert await status_of(w) is OrderStatus.ARRIVING
    change = [e for e in await timeline(w) if e.to_status == OrderStatus.ARRIVING]
    assert len(change) == 1
    assert change[0].actor_user_id is None  # nobody's hand: the geofence's
    assert change[0].details["source"] == "geofence"
    assert change[0].details["notify_customer"] is True
    assert change[0].details["fix"]["lat"] == pytest.approx(change[0].lat)
    assert change[0].lat == pytest.approx(south_of(CUSTOMER, 450).lat)
    # The customer's page hears it.
    await asyncio.sleep(0.05)
    assert [m["to_status"] for _, m in heard.of("order_event")] == ["arriving"]
    for task in heard.tasks:
        task.cancel()


async def test_standing_at_the_door_is_at_stop_and_leaving_unserved_is_an_exception(
    en_route: World,
) -> None:
    w = en_route
    heard = await listen(w.broker, [driver_channel(w.driver.driver_id)])
    start = datetime.now(UTC).timestamp() - 1_200
    at_door = await drive(w, [south_of(CUSTOMER, 3_000)], start)
    await settle(w)
    at_door = await drive(w, approach(CUSTOMER, 3_000, 75), at_door)
    stopped = at_door
    left = await drive(w, [south_of(CUSTOMER, 5)] * 24, at_door)  # two minutes at the door
    await settle(w)
    async with session_scope(w.db) as session:
        stop = await session.get(Stop, w.dropoff_stop)
        assert stop is not None
        assert stop.actual_arrival_at is not None
        # Standing began with the first fix at the door (give or take one fix).
        assert abs(stop.actual_arrival_at.timestamp() - stopped) <= 10
    arrived = [e for e in await timeline(w) if e.kind == EventKind.ARRIVED]
    assert len(arrived) == 1
    await asyncio.sleep(0.05)
    assert [m["stop_id"] for _, m in heard.of("at_stop")] == [w.dropoff_stop]
    # Away without a proof of delivery or a failure report: after the grace, an exception.
    await drive(w, [south_of(CUSTOMER, -400 - 75 * k) for k in range(6)], left)
    await settle(w)
    await asyncio.sleep(0.6)  # the grace (0.3 s here) runs out
    kinds = [e.kind for e in await timeline(w)]
    assert kinds.count(EventKind.LEFT_WITHOUT_PROOF) == 1
    async with session_scope(w.db) as session:
        inbox = await exceptions(session, w.driver.org_id, 10)
    assert [(i["kind"], i["order_id"]) for i in inbox] == [("left_without_proof", w.order_id)]
    for task in heard.tasks:
        task.cancel()


async def test_a_delivery_confirmed_within_the_grace_is_no_exception(en_route: World) -> None:
    w = en_route
    start = datetime.now(UTC).timestamp() - 1_200
    t = await drive(w, [south_of(CUSTOMER, 3_000)], start)
    await settle(w)
    t = await drive(w, approach(CUSTOMER, 3_000, 75), t)
    t = await drive(w, [south_of(CUSTOMER, 5)] * 24, t)
    await settle(w)
    await drive(w, [south_of(CUSTOMER, -400 - 75 * k) for k in range(6)], t)
    await set_status(w, OrderStatus.DELIVERED)  # the phone's confirmation, a little late
    await settle(w)
    await asyncio.sleep(0.6)
    assert EventKind.LEFT_WITHOUT_PROOF not in [e.kind for e in await timeline(w)]


async def test_pickup_arrival_then_leaving_after_the_scan_goes_en_route(to_pickup: World) -> None:
    w = to_pickup
    start = datetime.now(UTC).timestamp() - 1_500
    t = await drive(w, [south_of(DEPOT, 2_000)], start)
    await settle(w)
    t = await drive(w, approach(DEPOT, 2_000, 75), t)
    await settle(w)
    arrived = [e for e in await timeline(w) if e.kind == EventKind.ARRIVED]
    assert [e.details["stop_kind"] for e in arrived] == ["pickup"]  # "arrived at pickup"
    assert await status_of(w) is OrderStatus.EN_ROUTE_TO_PICKUP  # no status for it
    t = await drive(w, [south_of(DEPOT, 5)] * 6, t)
    await set_status(w, OrderStatus.PICKED_UP)  # scanned by hand
    await settle(w)
    # Off with the parcel, after the scan.
    off = datetime.now(UTC).timestamp() + 1
    await drive(w, [south_of(DEPOT, -300 - 100 * k) for k in range(5)], off)
    await settle(w)
    assert await status_of(w) is OrderStatus.EN_ROUTE
    last = (await timeline(w))[-1]
    assert (last.from_status, last.to_status) == (OrderStatus.PICKED_UP, OrderStatus.EN_ROUTE)
    assert last.details["source"] == "geofence"


async def test_a_hand_confirmation_is_never_overwritten_by_a_late_fix(en_route: World) -> None:
    w = en_route
    now = datetime.now(UTC).timestamp()
    # The driver's phone was offline: its fixes near the customer are from 10 minutes ago,
    # and meanwhile the driver reported by hand that the delivery failed, then dispatch
    # put the order back en route for a second attempt.
    await set_status(w, OrderStatus.FAILED)
    await set_status(w, OrderStatus.ASSIGNED)
    await set_status(w, OrderStatus.EN_ROUTE)
    await settle(w)
    await drive(w, approach(CUSTOMER, 800, 75), now - 600)
    await settle(w)
    assert await status_of(w) is OrderStatus.EN_ROUTE
    changes = [e for e in await timeline(w) if e.details.get("source") == "geofence"]
    assert changes == []


async def test_etas_are_stored_published_and_a_late_stop_is_flagged(tmp_path: object) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=2)
    async for w in make_world(tmp_path, OrderStatus.EN_ROUTE, with_pickup=False, window_end=soon):
        heard = await listen(w.broker, [order_channel(w.order_id), org_channel(w.driver.org_id)])
        now = datetime.now(UTC).timestamp()
        # 20 km away: the straight-line estimate is far beyond the window's end.
        await drive(w, [south_of(CUSTOMER, 20_000)], now - 10)
        await settle(w)
        await drive(w, [south_of(CUSTOMER, 19_990)], now - 5)
        await settle(w)
        async with session_scope(w.db) as session:
            stop = await session.get(Stop, w.dropoff_stop)
            assert stop is not None
            assert stop.eta_at is not None
            assert stop.eta_at > soon  # too far to make it
        late = [e for e in await timeline(w) if e.kind == EventKind.LATE_RISK]
        assert len(late) == 1
        assert late[0].details["late_by_s"] > 0
        async with session_scope(w.db) as session:
            inbox = await exceptions(session, w.driver.org_id, 10)
            order = await session.get(Order, w.order_id)
            assert order is not None
            (shown,) = await orders_out(session, [order])
        assert [i["kind"] for i in inbox] == ["late_risk"]
        assert shown.stops[0].eta_at == stop.eta_at  # what the board and the app read
        await asyncio.sleep(0.05)
        etas = heard.of("eta")
        assert {c for c, _ in etas} == {order_channel(w.order_id), org_channel(w.driver.org_id)}
        assert etas[0][1]["stop_id"] == w.dropoff_stop
        customer = [m for c, m in etas if c == order_channel(w.order_id)]
        assert "driver_id" not in customer[0]  # the customer learns no internal ids
        # A fix 10 m on does not move the ETA by a minute: nothing new is published.
        count = len(etas)
        await drive(w, [south_of(CUSTOMER, 19_980)], now - 1)
        await settle(w)
        await asyncio.sleep(0.05)
        assert len(heard.of("eta")) == count
        for task in heard.tasks:
            task.cancel()


async def test_leaving_the_planned_route_for_a_minute_is_an_off_route_event(
    en_route: World,
) -> None:
    w = en_route
    start = datetime.now(UTC).timestamp() - 1_200
    t = await drive(w, [south_of(CUSTOMER, 5_000)], start)
    await settle(w)  # the route is planned from here, straight north (no region loaded)
    t = await drive(w, [south_of(CUSTOMER, 5_000 - 50 * k) for k in range(1, 6)], t)
    await settle(w)
    # A parallel road 600 m east for two minutes, then back onto the route.
    t = await drive(w, [south_of(CUSTOMER, 4_700 - 50 * k, 600) for k in range(24)], t)
    await drive(w, [south_of(CUSTOMER, 3_400 - 50 * k) for k in range(6)], t)
    await settle(w)
    async with session_scope(w.db) as session:
        rows = await session.exec(
            select(DriverEvent)
            .where(DriverEvent.driver_id == w.driver.driver_id)
            .order_by(col(DriverEvent.id))
        )
        found = [(r.kind, r.details) for r in rows.all()]
    assert [k for k, _ in found] == [DriverEventKind.OFF_ROUTE, DriverEventKind.BACK_ON_ROUTE]
    assert found[0][1]["distance_m"] >= 500
    async with session_scope(w.db) as session:
        inbox = await exceptions(session, w.driver.org_id, 10)
    assert [(i["kind"], i["driver_id"]) for i in inbox] == [("off_route", w.driver.driver_id)]
