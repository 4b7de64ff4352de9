"""Review a finished plan: compare its draft routes with the day's current plan, publish them.

The current plan of a day is its published and running routes, and the orders of that day
on none of them. A plan's drafts hold only orders that were on no route when it was asked
for (a stop is on one route at most), so publishing takes nothing from a current route:
the drafts become published in one transaction, their orders assigned to their drivers
(:mod:`backend.fleet.route_orders`), the routes drivers already have stay as they are
(what is done or in progress never moves), and a driver given a second route for the day
sees both in their app. Raises AppErrors; never commits.
"""

import asyncio
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.errors import ConflictError
from backend.fleet.routes_service import update_route
from backend.models import Depot, Driver, Order, Route, Stop, Vehicle
from backend.optimization.comparison import (
    NOT_ON_A_ROUTE,
    Matrix,
    RouteLine,
    SideTotals,
    Visit,
    side,
)
from backend.optimization.job_store import PlanningJob
from backend.optimization.plan import Point
from backend.optimization.plan_io import epoch_of, road_matrix
from backend.routing.router import RoadRouter
from shared.enums import OrderStatus, RouteStatus
from shared.schemas.fleet import RouteUpdate
from shared.schemas.optimization import (
    OptimizationComparison,
    OptimizationPublished,
    OptimizationStatus,
    PlanSide,
    UnassignedOrder,
)

CURRENT = (RouteStatus.PUBLISHED, RouteStatus.IN_PROGRESS)
WAITING = (OrderStatus.CREATED, OrderStatus.ASSIGNED)  # not yet on the road
DEFAULT_START_H = 6  # a route without a planned start leaves at 06:00 UTC (planning's default)


def _done(job: PlanningJob) -> None:
    if job.status is not OptimizationStatus.DONE:
        raise ConflictError(f"optimization {job.id} is {job.status}, not done")


async def compare(
    session: AsyncSession, routing: RoadRouter, job: PlanningJob
) -> OptimizationComparison:
    """The day's published and running routes (and the orders on none of them) against
    the same day with the job's draft routes published too."""
    _done(job)
    org_id, day = job.org_id, job.body.service_date
    drafts = list(
        (
            await session.exec(
                select(Route).where(Route.org_id == org_id, col(Route.id).in_(job.route_ids))
            )
        ).all()
    )
    current = list(
        (
            await session.exec(
                select(Route).where(
                    Route.org_id == org_id,
                    Route.service_date == day,
                    col(Route.status).in_(CURRENT),
                    col(Route.id).not_in(job.route_ids),
                )
            )
        ).all()
    )
    routes = drafts + current
    stops = (
        await session.exec(
            select(Stop)
            .where(col(Stop.route_id).in_([r.id for r in routes]))
            .order_by(col(Stop.sequence))
        )
    ).all()
    on_route: dict[int, list[Stop]] = {}
    for stop in stops:
        assert stop.route_id is not None
        on_route.setdefault(stop.route_id, []).append(stop)
    homes = await _homes(session, job, routes)
    lines = [_line(r, on_route.get(r.id or 0, []), homes.get(r.id or 0), day) for r in routes]
    ends_open = job.body.open_routes
    timed = await asyncio.to_thread(_timed, routing, lines, ends_open, len(drafts))
    unrouted = await _unrouted(session, org_id, day, [r.id for r in current if r.id])
    return OptimizationComparison(
        optimization_id=job.id,
        service_date=day,
        current=_out(side(timed[len(drafts) :], [(o, NOT_ON_A_ROUTE) for o in unrouted])),
        # The day as it would be once published: the routes drivers have, plus the drafts.
        proposal=_out(side(timed, job.unassigned)),
    )


async def publish(
    session: AsyncSession, principal: Principal, job: PlanningJob
) -> OptimizationPublished:
    """Publish every draft route of a finished job at once (none if one is not a draft
    any more, or if another driver has one of their orders); a draft deleted since is
    skipped. Their orders are assigned to their drivers, by ``principal``."""
    _done(job)
    routes = list(
        (
            await session.exec(
                select(Route)
                .where(Route.org_id == job.org_id, col(Route.id).in_(job.route_ids))
                .order_by(col(Route.id))
            )
        ).all()
    )
    changed = sorted(r.id for r in routes if r.id is not None and r.status is not RouteStatus.DRAFT)
    if changed:
        raise ConflictError(f"routes {changed} are not drafts any more (already published?)")
    for route in routes:
        await update_route(session, principal, route, RouteUpdate(status=RouteStatus.PUBLISHED))
    return OptimizationPublished(optimization_id=job.id, route_ids=[r.id for r in routes if r.id])


def _out(totals: SideTotals) -> PlanSide:
    return PlanSide(
        routes=totals.routes,
        stops=totals.stops,
        distance_m=totals.distance_m,
        drive_s=totals.drive_s,
        working_s=totals.working_s,
        late_stops=totals.late_stops,
        late_order_ids=list(totals.late_order_ids),
        unassigned=[UnassignedOrder(order_id=o, reason=r) for o, r in totals.unassigned],
    )


async def _homes(
    session: AsyncSession, job: PlanningJob, routes: Sequence[Route]
) -> dict[int, Point]:
    """Where each route starts and ends: the plan's ``depot_id`` for its drafts if it named
    one, else the depot of the route's vehicle (or its driver's)."""
    drivers = {
        d.id: d
        for d in (
            await session.exec(
                select(Driver).where(col(Driver.id).in_({r.driver_id for r in routes}))
            )
        ).all()
    }
    vehicle_of: dict[int, int | None] = {}
    for route in routes:
        driver = drivers.get(route.driver_id)
        vehicle_of[route.id or 0] = route.vehicle_id or (driver.vehicle_id if driver else None)
    vehicles = {
        v.id: v
        for v in (
            await session.exec(select(Vehicle).where(col(Vehicle.id).in_(set(vehicle_of.values()))))
        ).all()
    }
    depots = {
        d.id: (d.lat, d.lng)
        for d in (await session.exec(select(Depot).where(Depot.org_id == job.org_id))).all()
    }
    homes: dict[int, Point] = {}
    for route_id, vehicle_id in vehicle_of.items():
        vehicle = vehicles.get(vehicle_id)
        chosen = job.body.depot_id if route_id in job.route_ids else None
        chosen = chosen or (vehicle.depot_id if vehicle else None)
        if chosen in depots:
            homes[route_id] = depots[chosen]
    return homes


def _epoch_s(at: datetime | None) -> float | None:
    return at.timestamp() if at is not None else None


def _line(
    route: Route, stops: Sequence[Stop], home: Point | None, day: date
) -> tuple[RouteLine, list[Point]]:
    """The route for :mod:`comparison` and its points: the depot (if known) then the stops."""
    points: list[Point] = [home] if home is not None else []
    visits = []
    for stop in stops:
        points.append((stop.lat, stop.lng))
        visits.append(
            Visit(
                stop_id=stop.id or 0,
                order_id=stop.order_id,
                location=len(points) - 1,
                service_s=stop.service_time_s,
                window_start=_epoch_s(stop.window_start),
                window_end=_epoch_s(stop.window_end),
            )
        )
    start_at = route.planned_start_at or epoch_of(day) + timedelta(hours=DEFAULT_START_H)
    start = 0 if home is not None else None
    return RouteLine(route.id or 0, start_at.timestamp(), tuple(visits), start, start), points


def _timed(
    routing: RoadRouter,
    lines: Sequence[tuple[RouteLine, list[Point]]],
    ends_open: bool,
    drafts: int,
) -> list[tuple[RouteLine, Matrix, Matrix]]:
    """Each route with its own road matrix (blocking: run in a thread). A plan asked with
    open routes has drafts that end at their last stop."""
    out: list[tuple[RouteLine, Matrix, Matrix]] = []
    for k, (line, points) in enumerate(lines):
        if ends_open and k < drafts:
            line = RouteLine(line.route_id, line.start_at, line.visits, line.start, None)
        durations, distances = road_matrix(routing, points) if points else ([], [])
        out.append((line, durations, distances))
    return out


async def _unrouted(
    session: AsyncSession, org_id: int, day: date, current_ids: Iterable[int]
) -> list[int]:
    """Orders of ``day`` (a window that day, or none) still waiting, on no current route."""
    current = set(current_ids)
    rows = (
        await session.exec(
            select(Stop, Order)
            .join(Order, col(Order.id) == col(Stop.order_id))
            .where(Order.org_id == org_id, col(Order.status).in_(WAITING))
        )
    ).all()
    on_current: set[int] = set()
    of_day: dict[int, bool] = {}
    for stop, order in rows:
        assert order.id is not None
        if stop.route_id is not None and stop.route_id in current:
            on_current.add(order.id)
        that_day = stop.window_start is None or stop.window_start.astimezone(UTC).date() == day
        of_day[order.id] = of_day.get(order.id, True) and that_day
    return sorted(o for o, ok in of_day.items() if ok and o not in on_current)
