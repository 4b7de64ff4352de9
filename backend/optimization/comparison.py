"""Compare two plans of a day: totals of distance, driving, working time and late stops.

Pure: the caller loads the routes and supplies each route's travel matrix on the road
network (the one planning uses, :func:`backend.optimization.plan_io.road_matrix`). A route
is walked the way ETAs are (:func:`backend.eta.estimate.estimate`): drive, arrive, wait for
the window to open, serve. Times are epoch seconds, distances metres.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from backend.eta.estimate import StopPlan, estimate

Matrix = Sequence[Sequence[float]]  # [from][to], indexes into a route's own points

NOT_ON_A_ROUTE = "not on any route"


@dataclass(frozen=True, slots=True)
class Visit:
    stop_id: int
    order_id: int
    location: int  # index into the route's matrix
    service_s: float
    window_start: float | None = None
    window_end: float | None = None


@dataclass(frozen=True, slots=True)
class RouteLine:
    """A route as planned: from ``start`` (None: from its first stop) at ``start_at``, through
    ``visits`` in order, to ``end`` (None: it ends at its last stop)."""

    route_id: int
    start_at: float
    visits: tuple[Visit, ...]
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True, slots=True)
class RouteTotals:
    route_id: int
    distance_m: float
    drive_s: float
    working_s: float
    late_order_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SideTotals:
    routes: int
    stops: int
    distance_m: int
    drive_s: int
    working_s: int
    late_order_ids: tuple[int, ...]  # one per late stop, in route order
    unassigned: tuple[tuple[int, str], ...]  # order id, why

    @property
    def late_stops(self) -> int:
        return len(self.late_order_ids)


def walk(route: RouteLine, durations: Matrix, distances: Matrix) -> RouteTotals:
    """Time one route on its matrix: its distance, driving, working time and late stops."""
    legs: list[tuple[int | None, int]] = []  # (from, to) per visit
    previous = route.start
    for visit in route.visits:
        legs.append((previous, visit.location))
        previous = visit.location

    def leg(table: Matrix, a: int | None, b: int) -> float:
        return 0.0 if a is None else float(table[a][b])

    etas = estimate(
        route.start_at,
        [
            StopPlan(v.stop_id, v.order_id, v.service_s, v.window_start, v.window_end)
            for v in route.visits
        ],
        [leg(durations, a, b) for a, b in legs],
    )
    drive_s = sum(leg(durations, a, b) for a, b in legs)
    distance_m = sum(leg(distances, a, b) for a, b in legs)
    finish = etas[-1].departure if etas else route.start_at
    if route.end is not None and previous is not None:
        drive_s += float(durations[previous][route.end])
        distance_m += float(distances[previous][route.end])
        finish += float(durations[previous][route.end])
    return RouteTotals(
        route.route_id,
        distance_m,
        drive_s,
        finish - route.start_at,
        tuple(e.order_id for e in etas if e.late_by_s > 0),
    )


def side(
    routes: Sequence[tuple[RouteLine, Matrix, Matrix]],
    unassigned: Sequence[tuple[int, str]],
) -> SideTotals:
    """The totals of one plan: its routes (each with its durations and distances) and the
    orders it leaves out, with why."""
    walked = [walk(route, durations, distances) for route, durations, distances in routes]
    return SideTotals(
        routes=len(walked),
        stops=sum(len(route.visits) for route, _, _ in routes),
        distance_m=round(sum(w.distance_m for w in walked)),
        drive_s=round(sum(w.drive_s for w in walked)),
        working_s=round(sum(w.working_s for w in walked)),
        late_order_ids=tuple(o for w in walked for o in w.late_order_ids),
        unassigned=tuple(sorted(unassigned)),
    )
