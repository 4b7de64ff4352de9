"""Live insertion: put a new job into routes already being driven, in milliseconds, without
touching any stop a driver has completed or is driving to (pure; no framework, no I/O).

Each active route is given from the point where it can still change: where the vehicle will
be and when (after its locked stops), what it carries then, and its remaining stops in order.
The job goes where it adds the least cost (drive time first, then distance; the objective of
the planner), keeping every remaining window, capacity, the stop cap and the shift end. The
other stops keep their order: nothing already promised to a customer is resequenced.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace

from backend.optimization.checks import latest
from backend.optimization.costs import Weights, weights_for
from backend.optimization.problem import Job, Problem, Vehicle, Visit
from backend.optimization.solution import StopKind


@dataclass(frozen=True, slots=True)
class Remaining:
    """One remaining stop of an active route."""

    job: Job
    kind: StopKind

    @property
    def visit(self) -> Visit:
        visit = self.job.pickup if self.kind is StopKind.PICKUP else self.job.delivery
        assert visit is not None
        return visit


@dataclass(frozen=True, slots=True)
class ActiveRoute:
    vehicle: Vehicle
    location: int  # where the vehicle is free to change course (after its locked stops)
    free_at_s: int  # when
    load: tuple[int, ...]  # what it carries then, per dimension (drop-offs still on board)
    stops: tuple[Remaining, ...]
    stops_done: int = 0  # deliveries already made or locked (count against max_stops)


@dataclass(frozen=True, slots=True)
class Insertion:
    vehicle_id: str
    stops: tuple[Remaining, ...]  # the route's new remaining stops
    added_cost: int
    added_drive_s: int
    moved: tuple[str, ...] = ()  # jobs whose stops were resequenced to make room
    starts: tuple[int, ...] = ()  # when service starts at each of ``stops`` (plan seconds)


NEIGHBOURHOOD = 8  # how far (in stops) a resequenced stop may move


def _walk(
    problem: Problem,
    weights: Weights,
    route: ActiveRoute,
    stops: Sequence[Remaining],
    starts: list[int] | None = None,
    wait_weight: int = 0,
) -> tuple[int, int, int] | None:
    """(cost, drive s, distance m) of driving ``stops`` from the route's free point, or
    None when a window, the capacity, the stop cap or the shift end is broken. A soft
    window's lateness adds its cost; each second of waiting for a window to open costs
    ``wait_weight``. ``starts``, if given, receives each stop's start."""
    dur, dist = problem.durations, problem.distances
    cap = problem.capacity(route.vehicle)
    load = list(route.load)
    t, here, drive, metres, late_cost, waited = route.free_at_s, route.location, 0, 0, 0, 0
    deliveries = route.stops_done
    pickups_ahead = {s.job.id for s in stops if s.kind is StopKind.PICKUP}
    for stop in stops:
        if stop.kind is StopKind.PICKUP:
            pickups_ahead.discard(stop.job.id)
        elif stop.job.id in pickups_ahead:
            return None  # a drop-off before its own pickup
        visit = stop.visit
        drive += dur[here][visit.location]
        metres += dist[here][visit.location]
        arrive = t + dur[here][visit.location]
        t = max(arrive, visit.window[0])
        waited += t - arrive
        if t > visit.window[1]:
            if t > latest(visit):
                return None
            late_cost += (t - visit.window[1]) * visit.late_cost_per_s
        if starts is not None:
            starts.append(t)
        t += visit.service_s
        here = visit.location
        demand = problem.demand(stop.job)
        if stop.kind is StopKind.PICKUP:
            load = [a + b for a, b in zip(load, demand, strict=True)]
            if any(a > c for a, c in zip(load, cap, strict=True)):
                return None
        else:
            load = [a - b for a, b in zip(load, demand, strict=True)]
            deliveries += 1
    vehicle = route.vehicle
    if vehicle.max_stops is not None and deliveries > vehicle.max_stops:
        return None
    if vehicle.end is not None:
        drive += dur[here][vehicle.end]
        metres += dist[here][vehicle.end]
        t += dur[here][vehicle.end]
    if t > vehicle.shift[1]:
        return None
    cost = drive * weights.duration + metres * weights.distance + late_cost + waited * wait_weight
    return cost, drive, metres


def best_insertion(
    problem: Problem,
    routes: Sequence[ActiveRoute],
    job: Job,
    max_moved: int = 0,
    *,
    waiting_counts: bool = False,
) -> Insertion | None:
    """Where ``job`` costs least to add, or None if no route can take it. With
    ``max_moved`` > 0, up to that many of the route's other (unlocked) stops may then be
    moved, one at a time, each only if it lowers the cost: a bounded re-optimisation.
    ``waiting_counts``: a second spent waiting for a window to open costs as much as a
    second of driving (a job that may not be served before some time goes where the route
    passes by then, not next with the driver idle until it opens)."""
    best: Insertion | None = None
    weights = weights_for(problem)
    wait = weights.duration if waiting_counts else 0
    for route in routes:
        if not job.skills <= route.vehicle.skills:
            continue
        base = _walk(problem, weights, route, route.stops, wait_weight=wait)
        if base is None:
            continue  # already infeasible as it stands: leave it to the dispatcher
        with_job = _carrying(problem, route, job)
        cap = problem.capacity(route.vehicle)
        if any(a > c for a, c in zip(with_job.load, cap, strict=True)):
            continue  # a drop-off is loaded at the start: the van must have room
        n = len(route.stops)
        delivery = Remaining(job, StopKind.DELIVERY)
        pickup = Remaining(job, StopKind.PICKUP) if job.pickup is not None else None
        positions: list[tuple[int | None, int]] = (
            [(i, j) for i in range(n + 1) for j in range(i, n + 1)]
            if pickup is not None
            else [(None, j) for j in range(n + 1)]
        )
        for i, j in positions:
            candidate = list(route.stops)
            candidate.insert(j, delivery)
            if pickup is not None and i is not None:
                candidate.insert(i, pickup)  # i <= j: the pickup comes first
            walked = _walk(problem, weights, with_job, candidate, wait_weight=wait)
            if walked is None:
                continue
            added = walked[0] - base[0]
            if best is None or added < best.added_cost:
                best = Insertion(route.vehicle.id, tuple(candidate), added, walked[1] - base[1])
    if best is None:
        return None
    route = _carrying(problem, next(r for r in routes if r.vehicle.id == best.vehicle_id), job)
    if max_moved > 0:
        best = _resequence(problem, weights, route, best, job.id, max_moved, wait)
    starts: list[int] = []
    _walk(problem, weights, route, best.stops, starts)
    return replace(best, starts=tuple(starts))


def _carrying(problem: Problem, route: ActiveRoute, job: Job) -> ActiveRoute:
    """``route`` as it leaves its free point when ``job`` is added: a drop-off-only job's
    parcel is on board from there (a pair's is loaded at its pickup, on the way)."""
    if job.pickup is not None:
        return route
    on_board = tuple(a + b for a, b in zip(route.load, problem.demand(job), strict=True))
    return ActiveRoute(
        route.vehicle, route.location, route.free_at_s, on_board, route.stops, route.stops_done
    )


def _resequence(
    problem: Problem,
    weights: Weights,
    route: ActiveRoute,
    inserted: Insertion,
    new_job: str,
    max_moved: int,
    wait: int = 0,
) -> Insertion:
    """Relocate up to ``max_moved`` other stops (best move first) while that saves cost."""
    base = _walk(problem, weights, route, route.stops, wait_weight=wait)
    assert base is not None
    current = list(inserted.stops)
    walked = _walk(problem, weights, route, current, wait_weight=wait)
    assert walked is not None
    moved: list[str] = []
    while len(moved) < max_moved:
        best: tuple[tuple[int, int, int], list[Remaining], str] | None = None
        for i, item in enumerate(current):
            if item.job.id == new_job or item.job.id in moved:
                continue
            rest = current[:i] + current[i + 1 :]
            for j in range(max(0, i - NEIGHBOURHOOD), min(len(rest), i + NEIGHBOURHOOD) + 1):
                if j == i:
                    continue
                candidate = [*rest[:j], item, *rest[j:]]
                found = _walk(problem, weights, route, candidate, wait_weight=wait)
                if found is None or found[0] >= walked[0]:
                    continue
                if best is None or found[0] < best[0][0]:
                    best = (found, candidate, item.job.id)
        if best is None:
            break
        walked, current = best[0], best[1]
        moved.append(best[2])
    return Insertion(
        inserted.vehicle_id,
        tuple(current),
        walked[0] - base[0],
        walked[1] - base[1],
        tuple(moved),
    )
