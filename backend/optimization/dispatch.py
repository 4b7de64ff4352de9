"""Live dispatch: put one order into the day's active routes (published or being driven),
proposed first and applied on request, and auto-dispatch of every order still unplanned.

What a driver has done or is driving to is locked: stops of finished orders, stops already
left, and on a route in progress the first stop still to do. The order goes where it adds
the least drive time (:mod:`backend.optimization.insertion`), starting from where each
vehicle will be free (its last locked stop, else its current position, else its depot);
the remaining stops keep their order. Raises AppErrors; never commits.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace as dc_replace
from datetime import UTC, date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.crud import get_in_org
from backend.errors import ConflictError
from backend.fleet.routes_service import update_route
from backend.models import Depot, Driver, Order, Route, Stop, Vehicle
from backend.optimization.checks import latest
from backend.optimization.insertion import ActiveRoute, Insertion, Remaining, best_insertion
from backend.optimization.plan import Point, capacity_of, ceil_matrix, job_of
from backend.optimization.plan_io import epoch_of, order_input, road_matrix
from backend.optimization.problem import UNBOUNDED, Job, Problem
from backend.optimization.problem import Vehicle as PlanVehicle
from backend.optimization.solution import StopKind as PlanKind
from backend.orders.transitions import transition
from backend.routing.router import RoadRouter
from shared.enums import OrderStatus, RouteStatus, StopKind
from shared.lifecycle import TERMINAL
from shared.schemas.fleet import RouteStopIn, RouteUpdate
from shared.schemas.orders import TransitionRequest

ACTIVE = (RouteStatus.PUBLISHED, RouteStatus.IN_PROGRESS)
# New, assigned but unplanned, and failed orders (a re-attempt the same day).
INSERTABLE = frozenset({OrderStatus.CREATED, OrderStatus.ASSIGNED, OrderStatus.FAILED})
PositionOf = dict[int, Point]  # driver id -> current position


@dataclass(frozen=True, slots=True)
class Placement:
    order_id: int
    route_id: int | None
    driver_id: int | None
    stop_ids: tuple[int, ...]  # the route's whole new sequence
    added_drive_s: int
    reason: str | None  # why it could not be placed
    moved_order_ids: tuple[int, ...] = ()  # other orders resequenced to make room
    # (stop id, new planned arrival) for every stop still to do on the route
    arrivals: tuple[tuple[int, datetime], ...] = ()


@dataclass(slots=True)
class RouteState:
    route: Route
    vehicle: Vehicle | None
    depot: Depot | None
    locked: list[Stop]
    remaining: list[Stop]


async def _order_and_stops(
    session: AsyncSession, org_id: int, order_id: int
) -> tuple[Order, dict[StopKind, Stop]]:
    order = await get_in_org(session, Order, order_id, org_id, label="order")
    stops = (await session.exec(select(Stop).where(Stop.order_id == order_id))).all()
    return order, {StopKind(s.kind): s for s in stops}


async def day_routes(
    session: AsyncSession,
    org_id: int,
    service_date: date,
    leave_out: int | None = None,
    route_statuses: Sequence[RouteStatus] = ACTIVE,
) -> list[RouteState]:
    """The day's routes in ``route_statuses`` (default: published and running), each split into
    the stops done or being driven to and those still open; ``leave_out``'s stops are
    left out (the order being placed again)."""
    routes = (
        await session.exec(
            select(Route)
            .where(Route.org_id == org_id, Route.service_date == service_date)
            .where(col(Route.status).in_(list(route_statuses)))
            .order_by(col(Route.id))
        )
    ).all()
    if not routes:
        return []
    stops = (
        await session.exec(
            select(Stop)
            .where(col(Stop.route_id).in_([r.id for r in routes]))
            .order_by(col(Stop.route_id), col(Stop.sequence))
        )
    ).all()
    statuses = dict(
        (
            await session.exec(
                select(Order.id, Order.status).where(col(Order.id).in_({s.order_id for s in stops}))
            )
        ).all()
    )
    drivers = {
        d.id: d
        for d in (
            await session.exec(
                select(Driver).where(col(Driver.id).in_([r.driver_id for r in routes]))
            )
        ).all()
    }
    vehicle_ids = {
        r.vehicle_id or (drivers[r.driver_id].vehicle_id if r.driver_id in drivers else None)
        for r in routes
    }
    vehicles = {
        v.id: v
        for v in (await session.exec(select(Vehicle).where(col(Vehicle.id).in_(vehicle_ids)))).all()
    }
    depots = {
        d.id: d for d in (await session.exec(select(Depot).where(Depot.org_id == org_id))).all()
    }
    out = []
    for route in routes:
        mine = [s for s in stops if s.route_id == route.id and s.order_id != leave_out]
        done = [
            s
            for s in mine
            if OrderStatus(statuses[s.order_id]) in TERMINAL
            or OrderStatus(statuses[s.order_id]) is OrderStatus.FAILED
            or s.actual_departure_at is not None
        ]
        rest = [s for s in mine if s not in done]
        if route.status is RouteStatus.IN_PROGRESS and rest:
            done.append(rest.pop(0))  # the stop the driver is driving to
        vehicle_id = route.vehicle_id or (
            drivers[route.driver_id].vehicle_id if route.driver_id in drivers else None
        )
        vehicle = vehicles.get(vehicle_id)
        depot = depots.get(vehicle.depot_id) if vehicle and vehicle.depot_id else None
        out.append(RouteState(route, vehicle, depot, done, rest))
    return out


def free_point(state: RouteState, positions: PositionOf, fallback: Point) -> Point:
    """Where the route's vehicle is free to change course: its last locked stop, else the
    driver's current position on a running route, else the depot."""
    if state.locked:
        return (state.locked[-1].lat, state.locked[-1].lng)
    driver_id = state.route.driver_id
    if driver_id in positions and state.route.status is RouteStatus.IN_PROGRESS:
        return positions[driver_id]
    if state.depot is not None:
        return (state.depot.lat, state.depot.lng)
    return (state.remaining[0].lat, state.remaining[0].lng) if state.remaining else fallback


def free_at(state: RouteState, now: datetime, delay_s: int = 0) -> datetime:
    """When: after the last locked stop's service (as planned), never before now, plus any
    delay the driver reported."""
    if state.locked:
        last = state.locked[-1]
        ready = (last.planned_arrival_at or now) + timedelta(seconds=last.service_time_s)
    else:
        ready = state.route.planned_start_at or now
    return max(now, ready) + timedelta(seconds=delay_s)


async def propose(
    session: AsyncSession,
    routing: RoadRouter,
    principal: Principal,
    order_id: int,
    *,
    now: datetime | None = None,
    positions: PositionOf | None = None,
    max_moved: int = 0,
    delays: dict[int, int] | None = None,
    moving: bool = False,
    only_route: int | None = None,
    not_before: datetime | None = None,
) -> Placement:
    """Where ``order_id`` would go in today's active routes (nothing is changed).
    ``delays``: route id -> seconds its driver reported running late. ``moving``: the order
    is on a route already and may go elsewhere (its stop is taken out of consideration).
    ``only_route``: that route or none. ``not_before``: its drop-off may not be served
    earlier (a re-attempt: the customer was out); then waiting counts like driving, so it
    goes where the route passes by that time rather than next with the driver idle."""
    now = now or datetime.now(UTC)
    order, stops = await _order_and_stops(session, principal.org_id, order_id)
    if OrderStatus(order.status) not in INSERTABLE:
        raise ConflictError(
            f"order {order_id} is {order.status}: only new, assigned or failed orders are placed"
        )
    dropoff, pickup = stops.get(StopKind.DROPOFF), stops.get(StopKind.PICKUP)
    if dropoff is None:
        raise ConflictError(f"order {order_id} has no drop-off stop")
    again = OrderStatus(order.status) is OrderStatus.FAILED  # a re-attempt
    if again:  # the parcel is already collected: only the drop-off is visited again
        stops, pickup = {StopKind.DROPOFF: dropoff}, None
    if dropoff.route_id is not None and not (again or moving):
        raise ConflictError(f"order {order_id} is already on route {dropoff.route_id}")
    service_date = now.date()
    routes = await day_routes(session, principal.org_id, service_date, leave_out=order_id)
    if only_route is not None:
        routes = [r for r in routes if r.route.id == only_route]
    if not routes:
        return Placement(order_id, None, None, (), 0, "no published or running route today")
    epoch = epoch_of(service_date)
    positions = positions or {}

    index: dict[Point, int] = {}

    def at(point: Point) -> int:
        return index.setdefault(point, len(index))

    free_points: list[Point] = []
    for state in routes:
        point = free_point(state, positions, (dropoff.lat, dropoff.lng))
        free_points.append(point)
        at(point)
        if state.depot is not None:
            at((state.depot.lat, state.depot.lng))
        for stop in state.remaining:
            at((stop.lat, stop.lng))
    at((dropoff.lat, dropoff.lng))
    if pickup is not None:
        at((pickup.lat, pickup.lng))
    durations, distances = await asyncio.to_thread(road_matrix, routing, list(index))

    orders = {
        o.id: o
        for o in (
            await session.exec(
                select(Order).where(
                    col(Order.id).in_({s.order_id for st in routes for s in st.remaining})
                )
            )
        ).all()
    }
    jobs: dict[int, Job] = {}

    def job_for(o: Order, kinds: dict[StopKind, Stop]) -> Job:
        found = order_input(o, kinds)
        assert found is not None  # every stop on a route belongs to an order with stops
        return job_of(found, at, epoch)

    active: list[ActiveRoute] = []
    vehicles: list[PlanVehicle] = []
    for state, point in zip(routes, free_points, strict=True):
        v = state.vehicle
        end = at((state.depot.lat, state.depot.lng)) if state.depot else None
        # A route without a planned end keeps no shift end: a late-evening order must not be
        # refused because a default day had ended.
        shift_end = state.route.planned_end_at
        plan_vehicle = PlanVehicle(
            id=str(state.route.id),
            start=at(point),
            end=end,
            shift=(
                0,
                int((shift_end - epoch).total_seconds()) + 3600
                if shift_end is not None
                else UNBOUNDED,
            ),
            capacity=(
                capacity_of(v.capacity_weight_kg, v.capacity_volume_m3)
                if v
                else (UNBOUNDED, UNBOUNDED)
            ),
            skills=frozenset(v.skills) if v else frozenset(),
        )
        vehicles.append(plan_vehicle)
        remaining: list[Remaining] = []
        on_board = [0, 0]
        kinds_by_order: dict[int, dict[StopKind, Stop]] = {}
        for stop in state.locked + state.remaining:
            kinds_by_order.setdefault(stop.order_id, {})[StopKind(stop.kind)] = stop
        for stop in state.remaining:
            o = orders[stop.order_id]
            job = jobs.setdefault(o.id or 0, job_for(o, kinds_by_order[stop.order_id]))
            is_pickup = stop.kind == StopKind.PICKUP and job.pickup is not None
            kind = PlanKind.PICKUP if is_pickup else PlanKind.DELIVERY
            remaining.append(Remaining(job, kind))
            if kind is PlanKind.DELIVERY and (
                job.pickup is None
                or StopKind.PICKUP
                not in {StopKind(s.kind) for s in state.remaining if s.order_id == stop.order_id}
            ):
                on_board = [a + b for a, b in zip(on_board, job.demand, strict=True)]
        ready_at = free_at(state, now, (delays or {}).get(state.route.id or 0, 0))
        active.append(
            ActiveRoute(
                plan_vehicle,
                at(point),
                int((ready_at - epoch).total_seconds()),
                tuple(on_board),
                tuple(remaining),
                stops_done=sum(1 for s in state.locked if s.kind == StopKind.DROPOFF),
            )
        )
    new_job = job_for(order, stops)
    if not_before is not None:
        later = _not_before(new_job, int((not_before - epoch).total_seconds()))
        if later is None:
            return Placement(
                order_id, None, None, (), 0, "its delivery window closes before it may be served"
            )
        new_job = later
    problem = Problem(
        ceil_matrix(durations),
        ceil_matrix(distances),
        tuple(vehicles),
        (*jobs.values(), new_job),
    )
    found = best_insertion(
        problem, active, new_job, max_moved=max_moved, waiting_counts=not_before is not None
    )
    if found is None:
        return Placement(
            order_id,
            None,
            None,
            (),
            0,
            "no active route can take it within its window, capacity and shift",
        )
    return _placement(order, found, routes, stops, epoch)


def _not_before(job: Job, earliest_s: int) -> Job | None:
    """``job`` with its drop-off not served before ``earliest_s``; None if its hard window
    (or a soft one's latest lateness) ends before that."""
    visit = job.delivery
    if earliest_s > latest(visit):
        return None
    # A soft window's lateness still counts from its own end (a start after it is late).
    window = (max(visit.window[0], earliest_s), visit.window[1])
    return dc_replace(job, delivery=dc_replace(visit, window=window))


def _placement(
    order: Order,
    found: Insertion,
    routes: Sequence[RouteState],
    stops: dict[StopKind, Stop],
    epoch: datetime,
) -> Placement:
    state = next(s for s in routes if str(s.route.id) == found.vehicle_id)
    by_job_kind = {(str(s.order_id), StopKind(s.kind)): s for s in state.locked + state.remaining}
    for kind, stop in stops.items():
        by_job_kind[(str(order.id), kind)] = stop
    ids = [s.id or 0 for s in state.locked]
    arrivals = []
    for item, start_s in zip(found.stops, found.starts, strict=True):
        kind = StopKind.PICKUP if item.kind is PlanKind.PICKUP else StopKind.DROPOFF
        stop = by_job_kind.get((item.job.id, kind)) or by_job_kind[(item.job.id, StopKind.PICKUP)]
        ids.append(stop.id or 0)
        arrivals.append((stop.id or 0, epoch + timedelta(seconds=start_s)))
    assert order.id is not None
    return Placement(
        order.id,
        state.route.id,
        state.route.driver_id,
        tuple(ids),
        found.added_drive_s,
        None,
        tuple(int(job_id) for job_id in found.moved),
        tuple(arrivals),
    )


async def late_after_delay(
    session: AsyncSession,
    routing: RoadRouter,
    principal: Principal,
    route: Route,
    delay_s: int,
    *,
    now: datetime | None = None,
    positions: PositionOf | None = None,
) -> list[int]:
    """Orders of ``route`` whose (hard) drop-off window is missed once its driver is
    ``delay_s`` late, driving the remaining stops in their current order."""
    now = now or datetime.now(UTC)
    states = await day_routes(session, principal.org_id, route.service_date)
    state = next((s for s in states if s.route.id == route.id), None)
    if state is None or not state.remaining:
        return []
    here = free_point(state, positions or {}, (state.remaining[0].lat, state.remaining[0].lng))
    points = [here] + [(s.lat, s.lng) for s in state.remaining]
    durations, _ = await asyncio.to_thread(road_matrix, routing, points)
    t = free_at(state, now, delay_s)
    late = []
    for k, stop in enumerate(state.remaining, start=1):
        t += timedelta(seconds=durations[k - 1][k])
        if stop.window_start is not None:
            t = max(t, stop.window_start)
        if stop.window_end is not None and t > stop.window_end and stop.kind == StopKind.DROPOFF:
            late.append(stop.order_id)
        t += timedelta(seconds=stop.service_time_s)
    return late


async def place_all(
    session: AsyncSession,
    routing: RoadRouter,
    principal: Principal,
    order_ids: Sequence[int],
    *,
    positions: PositionOf | None = None,
    max_moved: int = 0,
) -> list[Placement]:
    """Propose and apply each order in turn (each sees the routes as the previous left
    them); an order that fits nowhere, or cannot be placed, stays as it is, with the reason."""
    placements = []
    for order_id in order_ids:
        try:
            placement = await propose(
                session, routing, principal, order_id, positions=positions, max_moved=max_moved
            )
        except ConflictError as exc:
            placement = Placement(order_id, None, None, (), 0, exc.message)
        if placement.route_id is not None:
            await apply(session, principal, placement)
            await session.flush()
        placements.append(placement)
    return placements


async def hand_over(
    session: AsyncSession, principal: Principal, order: Order, driver_id: int | None
) -> None:
    """Assign ``order`` to ``driver_id``, taking it back from another driver first; a failed
    order gets a new visit: its drop-off leaves the route it failed on, to be planned again."""
    if OrderStatus(order.status) is OrderStatus.FAILED:  # a re-attempt: a new visit
        dropoffs = select(Stop).where(Stop.order_id == order.id, Stop.kind == StopKind.DROPOFF)
        for stop in (await session.exec(dropoffs)).all():
            stop.route_id = stop.sequence = stop.planned_arrival_at = None
            stop.actual_arrival_at = stop.actual_departure_at = None
            session.add(stop)
        await session.flush()
    if order.driver_id != driver_id or OrderStatus(order.status) in (
        OrderStatus.CREATED,
        OrderStatus.FAILED,
    ):
        if OrderStatus(order.status) is OrderStatus.ASSIGNED:  # someone else's: take it back
            await transition(session, principal, order, TransitionRequest(to=OrderStatus.CREATED))
        await transition(
            session,
            principal,
            order,
            TransitionRequest(to=OrderStatus.ASSIGNED, driver_id=driver_id),
        )


async def apply(session: AsyncSession, principal: Principal, placement: Placement) -> None:
    """Assign the order to the route's driver and put it on the route in the proposed
    sequence, with new planned arrivals for every stop still to do."""
    assert placement.route_id is not None
    order = await get_in_org(session, Order, placement.order_id, principal.org_id, label="order")
    await hand_over(session, principal, order, placement.driver_id)
    moved_off = select(Stop).where(
        Stop.order_id == order.id,
        col(Stop.route_id).is_not(None),
        Stop.route_id != placement.route_id,
    )
    for stop in (await session.exec(moved_off)).all():  # leaving another route of the day
        stop.route_id = stop.sequence = stop.planned_arrival_at = None
        session.add(stop)
    await session.flush()
    route = await get_in_org(session, Route, placement.route_id, principal.org_id, label="route")
    current = (await session.exec(select(Stop).where(Stop.route_id == route.id))).all()
    planned = {s.id: s.planned_arrival_at for s in current} | dict(placement.arrivals)
    await update_route(
        session,
        principal,
        route,
        RouteUpdate(
            stops=[
                RouteStopIn(stop_id=i, planned_arrival_at=planned.get(i))
                for i in placement.stop_ids
            ]
        ),
    )
