"""From the delivery domain to a :class:`Problem` and back to draft routes. Pure: the caller
loads the records and supplies the travel matrix (:mod:`backend.optimization.plan_io`).

Times become seconds from ``epoch`` (midnight UTC of the service day); amounts become integers
per dimension: grams, cubic centimetres and a count of stops. A capacity of 0 on a vehicle
means "not set" (unlimited) for that dimension.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from backend.optimization.costs import DURATION_WEIGHT
from backend.optimization.problem import UNBOUNDED, Break, Job, Problem, Vehicle, Visit
from backend.optimization.solution import Solution, StopKind, Unassigned

Point = tuple[float, float]  # (lat, lng)
# points -> (durations s, distances m), each [from][to]
MatrixFn = Callable[[Sequence[Point]], tuple[list[list[float]], list[list[float]]]]


@dataclass(frozen=True, slots=True)
class StopInput:
    stop_id: int
    point: Point
    window_start: datetime | None
    window_end: datetime | None
    service_s: int
    lateness_weight: float | None = None  # soft window (see Order.lateness_weight)


@dataclass(frozen=True, slots=True)
class OrderInput:
    order_id: int
    dropoff: StopInput
    pickup: StopInput | None = None
    weight_kg: float = 0.0
    volume_m3: float = 0.0
    priority: bool = False
    skills: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class DriverInput:
    driver_id: int
    vehicle_id: int | None
    start: Point
    end: Point | None  # None: the route ends at its last stop
    shift_start: datetime
    shift_end: datetime
    capacity_weight_kg: float = 0.0
    capacity_volume_m3: float = 0.0
    skills: frozenset[str] = frozenset()
    max_stops: int | None = None
    # (may start from, must start by, minutes): pauses the driver takes during the shift
    breaks: tuple[tuple[datetime, datetime, int], ...] = ()


@dataclass(frozen=True, slots=True)
class DraftStop:
    stop_id: int
    planned_arrival_at: datetime


@dataclass(frozen=True, slots=True)
class DraftRoute:
    driver_id: int
    vehicle_id: int | None
    stops: tuple[DraftStop, ...]
    planned_start_at: datetime
    planned_end_at: datetime
    drive_s: int
    distance_m: int


@dataclass(frozen=True, slots=True)
class Plan:
    routes: tuple[DraftRoute, ...]
    unassigned: tuple[tuple[int, Unassigned], ...]  # order id, why


@dataclass(frozen=True, slots=True)
class Built:
    problem: Problem
    epoch: datetime
    stops: dict[str, OrderInput]  # job id -> order


def _seconds(epoch: datetime, at: datetime | None, default: int) -> int:
    return default if at is None else max(0, int((at - epoch).total_seconds()))


MAX_LATE_S = 2 * 3600  # a soft window may be missed by up to this much


def capacity_of(weight_kg: float, volume_m3: float) -> tuple[int, int]:
    """A van's capacity in grams and cm³; 0 means "not set": unlimited."""
    return round(weight_kg * 1000) or UNBOUNDED, round(volume_m3 * 1_000_000) or UNBOUNDED


def job_of(order: OrderInput, at: Callable[[Point], int], epoch: datetime) -> Job:
    """The solver's job for ``order``; ``at`` gives a point's matrix index."""
    d, p = order.dropoff, order.pickup
    return Job(
        id=str(order.order_id),
        delivery=_visit(d, at(d.point), epoch),
        pickup=_visit(p, at(p.point), epoch) if p else None,
        demand=(round(order.weight_kg * 1000), round(order.volume_m3 * 1_000_000)),
        skills=order.skills,
        priority=order.priority,
    )


def _visit(stop: StopInput, location: int, epoch: datetime) -> Visit:
    start = _seconds(epoch, stop.window_start, 0)
    end = _seconds(epoch, stop.window_end, UNBOUNDED)
    late = round(stop.lateness_weight * DURATION_WEIGHT) if stop.lateness_weight else 0
    return Visit(
        location,
        stop.service_s,
        (start, max(start, end)),
        late_cost_per_s=late if stop.window_end is not None else 0,
        max_late_s=MAX_LATE_S,
    )


def build(
    orders: Sequence[OrderInput],
    drivers: Sequence[DriverInput],
    matrix: MatrixFn,
    epoch: datetime,
    *,
    minimise_vehicles: bool = False,
) -> Built:
    """The problem for these orders and drivers; one matrix call for every distinct point."""
    index: dict[Point, int] = {}

    def at(point: Point) -> int:
        return index.setdefault(point, len(index))

    for d in drivers:
        at(d.start)
        if d.end is not None:
            at(d.end)
    for o in orders:
        at(o.dropoff.point)
        if o.pickup is not None:
            at(o.pickup.point)
    points = list(index)
    durations, distances = matrix(points)

    vehicles = tuple(
        Vehicle(
            id=str(d.driver_id),
            start=index[d.start],
            end=index[d.end] if d.end is not None else None,
            shift=(_seconds(epoch, d.shift_start, 0), _seconds(epoch, d.shift_end, UNBOUNDED)),
            capacity=capacity_of(d.capacity_weight_kg, d.capacity_volume_m3),
            skills=d.skills,
            max_stops=d.max_stops,
            breaks=tuple(
                Break((_seconds(epoch, a, 0), _seconds(epoch, b, 0)), minutes * 60)
                for a, b, minutes in d.breaks
            ),
        )
        for d in drivers
    )
    jobs = tuple(job_of(o, index.__getitem__, epoch) for o in orders)
    problem = Problem(
        ceil_matrix(durations),
        ceil_matrix(distances),
        vehicles,
        jobs,
        minimise_vehicles=minimise_vehicles,
    )
    return Built(problem, epoch, {str(o.order_id): o for o in orders})


def ceil_matrix(rows: Sequence[Sequence[float]]) -> tuple[tuple[int, ...], ...]:
    """A travel matrix in whole seconds or metres, rounded up (never optimistic)."""
    return tuple(tuple(math.ceil(v) for v in row) for row in rows)


def drafts(built: Built, solution: Solution, drivers: Sequence[DriverInput]) -> Plan:
    """Draft routes (stops with planned arrivals) and the orders left out, with why."""
    by_id = {str(d.driver_id): d for d in drivers}
    routes = []
    for route in solution.routes:
        driver = by_id[route.vehicle_id]
        stops = []
        for planned in route.stops:
            order = built.stops[planned.job_id]
            stop = order.pickup if planned.kind is StopKind.PICKUP else order.dropoff
            assert stop is not None
            arrival = built.epoch + timedelta(seconds=planned.arrival_s)
            stops.append(DraftStop(stop.stop_id, arrival))
        routes.append(
            DraftRoute(
                driver_id=driver.driver_id,
                vehicle_id=driver.vehicle_id,
                stops=tuple(stops),
                planned_start_at=built.epoch + timedelta(seconds=route.start_s),
                planned_end_at=built.epoch + timedelta(seconds=route.end_s),
                drive_s=route.duration_s,
                distance_m=route.distance_m,
            )
        )
    unassigned = tuple((int(job_id), why) for job_id, why in solution.unassigned)
    return Plan(tuple(routes), unassigned)
