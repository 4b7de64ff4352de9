"""A dispatcher's change to the day, previewed with its effect before it is applied: orders
given to a driver (each put where its route suffers least), drivers' stops reordered. Every
route the change touches is shown with each stop's arrival before and after and the stops
that would miss their window; applying it assigns the orders, rewrites the routes with the
new planned arrivals and publishes them to the drivers, all in the caller's transaction.

What a driver has done or is driving to keeps its place (as in :mod:`dispatch`); a failed
drop-off given to a driver is a new visit. Raises AppErrors; never commits.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.crud import get_in_org
from backend.errors import BadRequestError, ConflictError
from backend.fleet.routes_service import create_route, update_route
from backend.models import Driver, Order, Route, Stop
from backend.optimization.change_eval import Visit, Walk, insert, walk
from backend.optimization.dispatch import (
    INSERTABLE,
    PositionOf,
    RouteState,
    day_routes,
    free_at,
    free_point,
    hand_over,
)
from backend.optimization.plan import Point
from backend.optimization.plan_io import road_matrix
from backend.routing.router import RoadRouter
from shared.enums import OrderStatus, RouteStatus, StopKind
from shared.schemas.fleet import RouteCreate, RouteStopIn, RouteUpdate
from shared.schemas.optimization import ChangeCreate, ChangeOut, RouteChange, StopChange

# A driver's route of the day that a change may go to: the one being driven, else the
# published one, else a draft (which the change publishes).
_PREFERENCE = (RouteStatus.IN_PROGRESS, RouteStatus.PUBLISHED, RouteStatus.DRAFT)


@dataclass(slots=True)
class _DriverDay:
    """A driver's day as the change sees it: what stays put, what is open before and after."""

    driver: Driver
    state: RouteState | None  # None: no route yet that day (one is created when applied)
    locked: list[Stop]
    before: list[Stop]
    after: list[Stop] = field(default_factory=list)
    target: bool = False  # the change sets this driver's stops (not only takes some away)

    @property
    def route(self) -> Route | None:
        return self.state.route if self.state is not None else None


async def _driver_days(
    session: AsyncSession, org_id: int, service_date: date
) -> dict[int, RouteState]:
    states = await day_routes(session, org_id, service_date, route_statuses=_PREFERENCE)
    by_driver: dict[int, RouteState] = {}
    for state in sorted(states, key=lambda s: _PREFERENCE.index(RouteStatus(s.route.status))):
        by_driver.setdefault(state.route.driver_id, state)
    return by_driver


async def _day_of(
    session: AsyncSession, org_id: int, driver_id: int, states: dict[int, RouteState]
) -> _DriverDay:
    driver = await get_in_org(session, Driver, driver_id, org_id, label="driver")
    state = states.get(driver_id)
    if state is None:
        return _DriverDay(driver, None, [], [])
    return _DriverDay(driver, state, list(state.locked), list(state.remaining))


async def _stops_of(session: AsyncSession, org_id: int, ids: Sequence[int]) -> dict[int, Stop]:
    found = {
        s.id: s
        for s in (await session.exec(select(Stop).where(col(Stop.id).in_(list(ids))))).all()
        if s.org_id == org_id and s.id is not None
    }
    missing = sorted(set(ids) - set(found))
    if missing:
        raise BadRequestError(f"stops: {missing} do not exist in this organisation")
    return found


def _order_stops(order: Order, stops: Sequence[Stop]) -> tuple[Stop | None, Stop]:
    """The stops a driver still has to visit for ``order``: (pickup or None, drop-off)."""
    kinds = {StopKind(s.kind): s for s in stops}
    dropoff = kinds.get(StopKind.DROPOFF)
    if dropoff is None:
        raise ConflictError(f"order {order.id} has no drop-off stop")
    pickup = kinds.get(StopKind.PICKUP)
    if OrderStatus(order.status) is OrderStatus.FAILED or (
        pickup is not None and pickup.actual_departure_at is not None
    ):
        pickup = None  # collected already: only the drop-off is visited
    return pickup, dropoff


def _check_pickups_first(day: _DriverDay) -> None:
    """A pickup stays before its drop-off."""
    place = {(s.order_id, StopKind(s.kind)): i for i, s in enumerate((*day.locked, *day.after))}
    for (order_id, kind), i in place.items():
        if kind is StopKind.DROPOFF and place.get((order_id, StopKind.PICKUP), -1) > i:
            raise BadRequestError(f"stops: order {order_id}'s drop-off comes before its pickup")


Given = list[tuple[Stop | None, Stop]]  # (pickup or None, drop-off) of each order given


async def _plan_change(
    session: AsyncSession, principal: Principal, body: ChangeCreate, service_date: date
) -> tuple[dict[int, _DriverDay], dict[int, Order], Given]:
    """Every driver the change touches, with their stops before and after; the stops of the
    orders given to ``body.driver_id`` are still to be placed (by :func:`change_day`)."""
    org_id = principal.org_id
    states = await _driver_days(session, org_id, service_date)
    route_owner = {state.route.id: d for d, state in states.items()}
    days: dict[int, _DriverDay] = {}

    async def day(driver_id: int) -> _DriverDay:
        if driver_id not in days:
            days[driver_id] = await _day_of(session, org_id, driver_id, states)
        return days[driver_id]

    async def order_of(order_id: int) -> Order:
        if order_id not in orders:
            orders[order_id] = await get_in_org(session, Order, order_id, org_id, label="order")
        return orders[order_id]

    orders: dict[int, Order] = {}
    wanted: dict[int, int] = {}  # stop id -> the driver who gets it
    moving: dict[int, Stop] = {}
    drivers = [s.driver_id for s in body.sequences]
    if len(set(drivers)) != len(drivers):
        raise BadRequestError("sequences: a driver appears twice")
    listed = [i for s in body.sequences for i in s.stop_ids]
    if len(set(listed)) != len(listed):
        raise BadRequestError("sequences: a stop appears twice")
    stops = await _stops_of(session, org_id, listed)
    for sequence in body.sequences:
        target = await day(sequence.driver_id)
        target.target = True
        target.after = [stops[i] for i in sequence.stop_ids]
        wanted |= dict.fromkeys(sequence.stop_ids, sequence.driver_id)
        moving |= {i: stops[i] for i in sequence.stop_ids}

    given: Given = []
    if body.driver_id is not None:
        target = await day(body.driver_id)
        if not target.target:
            target.target, target.after = True, list(target.before)
        for order_id in dict.fromkeys(body.order_ids):
            order = await order_of(order_id)
            own = (await session.exec(select(Stop).where(Stop.order_id == order_id))).all()
            pickup, dropoff = _order_stops(order, own)
            for stop in (pickup, dropoff):
                if stop is None:
                    continue
                if wanted.get(stop.id or 0, body.driver_id) != body.driver_id:
                    raise BadRequestError(
                        f"order {order_id} is given to driver {body.driver_id} and its stop "
                        f"{stop.id} to driver {wanted[stop.id or 0]}"
                    )
                wanted[stop.id or 0] = body.driver_id
                moving[stop.id or 0] = stop
            if dropoff not in target.after:
                given.append((pickup, dropoff))

    for stop_id, driver_id in wanted.items():
        stop = moving[stop_id]
        order = await order_of(stop.order_id)
        status = OrderStatus(order.status)
        changes_hands = order.driver_id != driver_id or status in (
            OrderStatus.CREATED,
            OrderStatus.FAILED,
        )
        if changes_hands and status not in INSERTABLE:
            raise ConflictError(
                f"order {order.id} is {status}: only new, assigned or failed orders change driver"
            )
        if stop.route_id is None:
            continue
        owner = route_owner.get(stop.route_id)
        if owner is None:
            if status is OrderStatus.FAILED:
                continue  # a new visit: it leaves the finished route it failed on
            raise ConflictError(
                f"stop {stop_id} is on route {stop.route_id}, of another day or finished"
            )
        source = await day(owner)
        if any(s.id == stop_id for s in source.locked):
            if status is not OrderStatus.FAILED:
                raise ConflictError(
                    f"stop {stop_id} is done or being driven to: it keeps its place"
                )
            source.locked = [s for s in source.locked if s.id != stop_id]  # a new visit
    for driver_id, d in days.items():
        if d.target:
            _check_pickups_first(d)
        else:  # only loses the stops given to others
            d.after = [s for s in d.before if wanted.get(s.id or 0, driver_id) == driver_id]
    return days, orders, given


@dataclass(slots=True)
class _Geometry:
    """The road times between every place the change involves."""

    index: dict[Point, int] = field(default_factory=dict)
    durations: list[list[float]] = field(default_factory=list)

    def at(self, point: Point) -> int:
        return self.index.setdefault(point, len(self.index))


def _start(day: _DriverDay, positions: PositionOf, stops: Sequence[Stop]) -> Point:
    """Where the driver is free to take the changed route: as live dispatch says for an
    existing route; for a new one, where they are now, else its first stop."""
    first = (stops[0].lat, stops[0].lng) if stops else (0.0, 0.0)
    if day.state is not None:
        return free_point(day.state, positions, first)
    return positions.get(day.driver.id or 0, first)


def _free_s(day: _DriverDay, now: datetime, stops: Sequence[Stop]) -> float:
    """When: as live dispatch says for an existing route; a new one starts now, or half an
    hour before its first window opens if that is later (a day ahead, say)."""
    if day.state is not None:
        return free_at(day.state, now).timestamp()
    opens = [s.window_start for s in stops if s.window_start is not None]
    return max(now, min(opens) - timedelta(minutes=30)).timestamp() if opens else now.timestamp()


def _visit(stop: Stop, geo: _Geometry) -> Visit:
    return Visit(
        stop.id or 0,
        stop.order_id,
        geo.at((stop.lat, stop.lng)),
        stop.service_time_s,
        stop.window_start.timestamp() if stop.window_start else None,
        stop.window_end.timestamp() if stop.window_end else None,
    )


def _stop_change(
    stop: Stop,
    order: Order,
    *,
    before: float | None,
    after: float | None,
    locked: bool,
    added: bool,
) -> StopChange:
    def at(t: float | None) -> datetime | None:
        return datetime.fromtimestamp(t, UTC) if t is not None else None

    def late(t: float | None) -> int | None:
        if t is None or stop.window_end is None:
            return None
        by = t - stop.window_end.timestamp()
        return round(by) if by > 0 else None

    return StopChange(
        stop_id=stop.id or 0,
        order_id=stop.order_id,
        reference=order.reference,
        recipient_name=order.recipient_name,
        kind=StopKind(stop.kind),
        address=stop.address,
        window_start=stop.window_start,
        window_end=stop.window_end,
        eta_before=at(before) if not locked else stop.planned_arrival_at,
        eta_after=at(after) if not locked else stop.planned_arrival_at,
        late_before_s=late(before),
        late_after_s=late(after),
        locked=locked,
        added=added,
    )


async def change_day(
    session: AsyncSession,
    routing: RoadRouter,
    principal: Principal,
    body: ChangeCreate,
    *,
    positions: PositionOf | None = None,
    now: datetime | None = None,
) -> ChangeOut:
    """Preview ``body`` (or, with ``apply``, make it): the routes it touches, before and after."""
    now = now or datetime.now(UTC)
    positions = positions or {}
    service_date = body.service_date or now.date()
    days, orders, given = await _plan_change(session, principal, body, service_date)
    new_stops = [s for pair in given for s in pair if s is not None]
    geo = _Geometry()
    everything = {d: [*day.before, *day.after, *new_stops] for d, day in days.items()}
    starts = {d: geo.at(_start(day, positions, everything[d])) for d, day in days.items()}
    for stop in (*[s for stops in everything.values() for s in stops],):
        geo.at((stop.lat, stop.lng))
    geo.durations, _ = await asyncio.to_thread(road_matrix, routing, list(geo.index))
    walks: dict[int, tuple[Walk, Walk]] = {}
    for d, day in days.items():
        start_s = _free_s(day, now, everything[d])
        if d == body.driver_id and given:
            visits = [_visit(s, geo) for s in day.after]
            by_id = {s.id or 0: s for s in (*day.after, *new_stops)}
            for pickup, dropoff in given:
                visits = insert(
                    visits,
                    _visit(pickup, geo) if pickup is not None else None,
                    _visit(dropoff, geo),
                    start_point=starts[d],
                    start_s=start_s,
                    durations=geo.durations,
                )
            day.after = [by_id[v.stop_id] for v in visits]
        before = walk(starts[d], start_s, [_visit(s, geo) for s in day.before], geo.durations)
        after = walk(starts[d], start_s, [_visit(s, geo) for s in day.after], geo.durations)
        walks[d] = (before, after)
    shown = {s.order_id for day in days.values() for s in (*day.locked, *day.before)}
    if shown - set(orders):
        query = select(Order).where(col(Order.id).in_(shown - set(orders)))
        orders |= {o.id or 0: o for o in (await session.exec(query)).all()}
    out = [_route_change(day, *walks[d], orders) for d, day in sorted(days.items())]
    if body.apply:
        await _apply(session, principal, days, walks, orders, service_date)
    return ChangeOut(service_date=service_date, routes=out, applied=body.apply)


def _route_change(
    day: _DriverDay, before: Walk, after: Walk, orders: dict[int, Order]
) -> RouteChange:
    eta_before = {e.stop_id: e.eta for e in before.etas}
    eta_after = {e.stop_id: e.eta for e in after.etas}
    stops = [
        _stop_change(s, orders[s.order_id], before=None, after=None, locked=True, added=False)
        for s in day.locked
    ] + [
        _stop_change(
            s,
            orders[s.order_id],
            before=eta_before.get(s.id or 0),
            after=eta_after.get(s.id or 0),
            locked=False,
            added=(s.id or 0) not in eta_before,
        )
        for s in day.after
    ]
    kept = {s.id for s in day.after}
    removed = [
        _stop_change(
            s,
            orders[s.order_id],
            before=eta_before.get(s.id or 0),
            after=None,
            locked=False,
            added=False,
        )
        for s in day.before
        if s.id not in kept
    ]
    route = day.route
    return RouteChange(
        route_id=route.id if route else None,
        driver_id=day.driver.id or 0,
        status=RouteStatus(route.status) if route else None,
        stops=stops,
        removed=removed,
        drive_s_before=round(before.drive_s),
        drive_s_after=round(after.drive_s),
        late_before=len(before.late),
        late_after=len(after.late),
    )


async def _apply(
    session: AsyncSession,
    principal: Principal,
    days: dict[int, _DriverDay],
    walks: dict[int, tuple[Walk, Walk]],
    orders: dict[int, Order],
    service_date: date,
) -> None:
    """Make the change: stops leave their routes, orders change hands, every touched route
    gets its new sequence and planned arrivals, and a draft or new route is published."""
    kept_where = {
        s.id: day.route.id if day.route else None for day in days.values() for s in day.after
    }
    for day in days.values():  # off the routes they leave, so they may join another
        for stop in (*day.before, *day.after):
            if (
                stop.route_id is not None
                and kept_where.get(stop.id, stop.route_id) != stop.route_id
            ):
                stop.route_id = stop.sequence = stop.planned_arrival_at = None
                session.add(stop)
    await session.flush()
    for driver_id, day in days.items():
        for order_id in dict.fromkeys(s.order_id for s in day.after):
            order = orders[order_id]
            status = OrderStatus(order.status)
            if order.driver_id != driver_id or status in (OrderStatus.CREATED, OrderStatus.FAILED):
                await hand_over(session, principal, order, driver_id)
    await session.flush()
    for driver_id, day in days.items():
        arrivals = {e.stop_id: datetime.fromtimestamp(e.eta, UTC) for e in walks[driver_id][1].etas}
        wanted = [
            RouteStopIn(stop_id=s.id or 0, planned_arrival_at=s.planned_arrival_at)
            for s in day.locked
        ] + [
            RouteStopIn(stop_id=s.id or 0, planned_arrival_at=arrivals.get(s.id or 0))
            for s in day.after
        ]
        route = day.route
        if route is None:
            if not day.after:
                continue
            route = await create_route(
                session,
                principal,
                RouteCreate(
                    driver_id=driver_id,
                    vehicle_id=day.driver.vehicle_id,
                    service_date=service_date,
                    stops=wanted,
                ),
            )
            await update_route(session, principal, route, RouteUpdate(status=RouteStatus.PUBLISHED))
            continue
        update = RouteUpdate(stops=wanted)
        if day.target and RouteStatus(route.status) is RouteStatus.DRAFT:
            update = RouteUpdate(stops=wanted, status=RouteStatus.PUBLISHED)
        await update_route(session, principal, route, update)
