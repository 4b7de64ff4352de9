"""The database side of planning: load the orders and drivers of a planning request, and save
a plan as draft routes (a dispatcher reviews and publishes them). Raises AppErrors."""

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.errors import BadRequestError
from backend.fleet.routes_service import create_route
from backend.models import Depot, Driver, Order, Stop, Vehicle
from backend.optimization.plan import DriverInput, OrderInput, Plan, Point, StopInput
from backend.routing.router import RoadRouter
from shared.enums import OrderStatus, StopKind
from shared.geo import Point as GeoPoint
from shared.schemas.fleet import RouteCreate, RouteStopIn
from shared.schemas.optimization import OptimizationCreate

UNREACHABLE = 10**7  # seconds / metres for a pair the road network cannot connect


def epoch_of(service_date: date) -> datetime:
    return datetime.combine(service_date, time(0), tzinfo=UTC)


def _stop_input(stop: Stop, lateness_weight: float | None = None) -> StopInput:
    return StopInput(
        stop_id=stop.id or 0,
        point=(stop.lat, stop.lng),
        window_start=stop.window_start,
        window_end=stop.window_end,
        service_s=stop.service_time_s,
        lateness_weight=lateness_weight,
    )


async def load_orders(
    session: AsyncSession, org_id: int, body: OptimizationCreate
) -> list[OrderInput]:
    """The orders to plan: ``order_ids``, or every unassigned order of the organisation
    whose stops are on no route yet."""
    query = select(Order).where(Order.org_id == org_id)
    if body.order_ids is not None:
        query = query.where(col(Order.id).in_(body.order_ids))
    else:
        query = query.where(Order.status == OrderStatus.CREATED)
    orders = list((await session.exec(query.order_by(col(Order.id)))).all())
    if body.order_ids is not None:
        missing = sorted(set(body.order_ids) - {o.id for o in orders})
        if missing:
            raise BadRequestError(f"order_ids: {missing} do not exist in this organisation")
    stops = (
        await session.exec(select(Stop).where(col(Stop.order_id).in_([o.id for o in orders])))
    ).all()
    by_order: dict[int, dict[StopKind, Stop]] = {}
    for stop in stops:
        by_order.setdefault(stop.order_id, {})[StopKind(stop.kind)] = stop
    out = []
    for order in orders:
        assert order.id is not None
        mine = by_order.get(order.id, {})
        if body.order_ids is None and any(s.route_id for s in mine.values()):
            continue  # already planned
        found = order_input(order, mine)
        if found is not None:
            out.append(found)
    return out


def order_input(order: Order, stops: Mapping[StopKind, Stop]) -> OrderInput | None:
    """What planning needs of an order and its stops (None: it has no stop)."""
    assert order.id is not None
    dropoff, pickup = stops.get(StopKind.DROPOFF), stops.get(StopKind.PICKUP)
    if dropoff is None and pickup is not None:
        # A collection brought back to the depot: planned as a visit; what it loads is
        # not counted against the van (it rides back after the deliveries drop off).
        dropoff, pickup, weight, volume = pickup, None, 0.0, 0.0
    elif dropoff is None:
        return None
    else:
        weight, volume = order.weight_kg, order.volume_m3
    return OrderInput(
        order_id=order.id,
        dropoff=_stop_input(dropoff, order.lateness_weight),
        pickup=_stop_input(pickup) if pickup else None,
        weight_kg=weight,
        volume_m3=volume,
        priority=order.priority > 0,
        skills=frozenset(order.required_skills),
    )


async def load_drivers(
    session: AsyncSession, org_id: int, body: OptimizationCreate
) -> list[DriverInput]:
    """The drivers to plan for (``driver_ids``, or every driver of the organisation), each
    starting and ending at the request's depot or their vehicle's."""
    query = select(Driver).where(Driver.org_id == org_id)
    if body.driver_ids is not None:
        query = query.where(col(Driver.id).in_(body.driver_ids))
    drivers = list((await session.exec(query.order_by(col(Driver.id)))).all())
    if body.driver_ids is not None:
        missing = sorted(set(body.driver_ids) - {d.id for d in drivers})
        if missing:
            raise BadRequestError(f"driver_ids: {missing} do not exist in this organisation")
    if not drivers:
        raise BadRequestError("no drivers to plan for: add drivers or list driver_ids")
    vehicles = {
        v.id: v
        for v in (
            await session.exec(
                select(Vehicle).where(col(Vehicle.id).in_([d.vehicle_id for d in drivers]))
            )
        ).all()
    }
    depots = {
        d.id: d for d in (await session.exec(select(Depot).where(Depot.org_id == org_id))).all()
    }
    if body.depot_id is not None and body.depot_id not in depots:
        raise BadRequestError(f"depot_id: depot {body.depot_id} does not exist")
    epoch = epoch_of(body.service_date)
    shift_start = body.shift_start or epoch + timedelta(hours=6)
    shift_end = body.shift_end or epoch + timedelta(hours=22)
    breaks: tuple[tuple[datetime, datetime, int], ...] = ()
    if body.break_minutes:
        breaks = (
            (
                body.break_window_start or epoch + timedelta(hours=11),
                body.break_window_end or epoch + timedelta(hours=14),
                body.break_minutes,
            ),
        )
    out = []
    for driver in drivers:
        assert driver.id is not None
        vehicle = vehicles.get(driver.vehicle_id)
        depot_id = body.depot_id or (vehicle.depot_id if vehicle else None)
        depot = depots.get(depot_id) if depot_id is not None else None
        if depot is None:
            raise BadRequestError(
                f"driver {driver.id} has no depot to start from (their vehicle has none): "
                "give depot_id"
            )
        home: Point = (depot.lat, depot.lng)
        out.append(
            DriverInput(
                driver_id=driver.id,
                vehicle_id=vehicle.id if vehicle else None,
                start=home,
                end=None if body.open_routes else home,
                shift_start=shift_start,
                shift_end=shift_end,
                capacity_weight_kg=vehicle.capacity_weight_kg if vehicle else 0.0,
                capacity_volume_m3=vehicle.capacity_volume_m3 if vehicle else 0.0,
                skills=frozenset(vehicle.skills) if vehicle else frozenset(),
                max_stops=body.max_stops_per_route,
                breaks=breaks,
            )
        )
    return out


def road_matrix(
    routing: RoadRouter, points: Sequence[Point]
) -> tuple[list[list[float]], list[list[float]]]:
    """Durations and distances between ``points`` on the road network (blocking: call it in
    a thread); pairs it cannot connect get a prohibitive value, not NaN."""
    geo = [GeoPoint(lat, lng) for lat, lng in points]
    found = routing.matrix(geo, geo)
    durations = np.nan_to_num(found.durations_s, nan=UNREACHABLE)
    distances = np.nan_to_num(found.distances_m, nan=UNREACHABLE)
    return durations.tolist(), distances.tolist()


async def save_drafts(
    session: AsyncSession, principal: Principal, service_date: date, plan: Plan
) -> list[int]:
    """One draft route per planned driver; returns their ids."""
    ids = []
    for route in plan.routes:
        created = await create_route(
            session,
            principal,
            RouteCreate(
                driver_id=route.driver_id,
                vehicle_id=route.vehicle_id,
                service_date=service_date,
                planned_start_at=route.planned_start_at,
                planned_end_at=route.planned_end_at,
                stops=[
                    RouteStopIn(stop_id=s.stop_id, planned_arrival_at=s.planned_arrival_at)
                    for s in route.stops
                ],
            ),
        )
        assert created.id is not None
        ids.append(created.id)
    return ids
