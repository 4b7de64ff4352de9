"""Pure checks around a solve: which jobs no vehicle could ever serve (and why), and whether a
solution keeps every constraint, recomputed from the problem alone (for tests and benches)."""

from itertools import pairwise

from backend.optimization.problem import Job, Problem, Vehicle, Visit
from backend.optimization.solution import PlannedRoute, Solution, StopKind, Unassigned


def latest(visit: Visit) -> int:
    """The latest start of service: the window's end, or later when the end is soft."""
    return visit.window[1] + (visit.max_late_s if visit.late_cost_per_s else 0)


def _fits(problem: Problem, vehicle: Vehicle, job: Job) -> bool:
    return all(d <= c for d, c in zip(problem.demand(job), problem.capacity(vehicle), strict=True))


def _reachable(problem: Problem, vehicle: Vehicle, job: Job) -> bool:
    """Can ``vehicle`` serve ``job`` alone, within every window and its shift?"""
    dur = problem.durations
    t, here = vehicle.shift[0], vehicle.start
    visits: list[Visit] = [job.pickup, job.delivery] if job.pickup else [job.delivery]
    for visit in visits:
        t = max(t + dur[here][visit.location], visit.window[0])
        if t > latest(visit):
            return False
        t += visit.service_s
        here = visit.location
    back = dur[here][vehicle.end] if vehicle.end is not None else 0
    return t + back <= vehicle.shift[1]


def unservable(problem: Problem) -> dict[str, Unassigned]:
    """Jobs no vehicle can serve even alone, with the first reason that rules each out."""
    out: dict[str, Unassigned] = {}
    for job in problem.jobs:
        skilled = [v for v in problem.vehicles if job.skills <= v.skills]
        if not skilled:
            out[job.id] = Unassigned.NO_VEHICLE_WITH_SKILLS
            continue
        roomy = [v for v in skilled if _fits(problem, v, job)]
        if not roomy:
            out[job.id] = Unassigned.OVER_CAPACITY
            continue
        if not any(_reachable(problem, v, job) for v in roomy):
            out[job.id] = Unassigned.WINDOW_UNREACHABLE
    return out


def violations(problem: Problem, solution: Solution) -> list[str]:
    """Every broken constraint of ``solution`` (empty: feasible), recomputed from scratch."""
    jobs = {j.id: j for j in problem.jobs}
    vehicles = {v.id: v for v in problem.vehicles}
    dur = problem.durations
    found: list[str] = []
    seen: dict[str, int] = {}
    for route in solution.routes:
        vehicle = vehicles[route.vehicle_id]
        cap = problem.capacity(vehicle)
        on_board = [0] * problem.dimensions
        for stop in route.stops:  # delivery-only jobs are loaded at the start
            job = jobs[stop.job_id]
            if job.pickup is None:
                on_board = [a + b for a, b in zip(on_board, problem.demand(job), strict=True)]
        if any(a > c for a, c in zip(on_board, cap, strict=True)):
            found.append(f"{route.vehicle_id}: leaves with {on_board} over capacity {cap}")
        t, here = max(route.start_s, vehicle.shift[0]), vehicle.start
        picked: set[str] = set()
        count = 0
        for stop in route.stops:
            job = jobs[stop.job_id]
            visit = job.pickup if stop.kind is StopKind.PICKUP else job.delivery
            assert visit is not None
            if not job.skills <= vehicle.skills:
                found.append(f"{job.id}: needs {sorted(job.skills)} on {vehicle.id}")
            t = max(t + dur[here][visit.location], visit.window[0], stop.start_s)
            if t > latest(visit):
                found.append(f"{job.id} {stop.kind}: starts at {t}, latest {latest(visit)}")
            t += visit.service_s
            here = visit.location
            sign = 1 if stop.kind is StopKind.PICKUP else -1
            on_board = [a + sign * b for a, b in zip(on_board, problem.demand(job), strict=True)]
            if any(a > c for a, c in zip(on_board, cap, strict=True)):
                found.append(f"{route.vehicle_id}: {on_board} over capacity {cap} at {job.id}")
            if stop.kind is StopKind.PICKUP:
                picked.add(job.id)
            else:
                count += 1
                seen[job.id] = seen.get(job.id, 0) + 1
                if job.pickup is not None and job.id not in picked:
                    found.append(f"{job.id}: delivered before (or without) its pickup")
        found += _missed_breaks(problem, vehicle, route)
        if vehicle.max_stops is not None and count > vehicle.max_stops:
            found.append(f"{route.vehicle_id}: {count} stops, at most {vehicle.max_stops}")
        if vehicle.end is not None:
            t += dur[here][vehicle.end]
        if t > vehicle.shift[1]:
            found.append(f"{route.vehicle_id}: ends at {t}, shift ends {vehicle.shift[1]}")
    unassigned = {job_id for job_id, _ in solution.unassigned}
    for job in problem.jobs:
        times = seen.get(job.id, 0) + (job.id in unassigned)
        if times != 1:
            found.append(f"{job.id}: served or listed {times} times, not once")
    served_normal = any(not jobs[j].priority for j in seen)
    for job_id in unassigned:
        if jobs[job_id].priority and served_normal:
            reason = dict(solution.unassigned)[job_id]
            if reason is Unassigned.NO_ROOM:
                found.append(f"{job_id}: a priority job dropped while normal ones are served")
    return found


def _missed_breaks(problem: Problem, vehicle: Vehicle, route: PlannedRoute) -> list[str]:
    """Each break needs, between two consecutive services (or the route's start and end),
    a stretch with room for the drive plus the break, and the break starting in its window
    (the driver may pause before driving on or on arrival)."""
    jobs = {j.id: j for j in problem.jobs}
    dur = problem.durations
    stretches: list[tuple[int, int, int]] = []  # (from, until, drive in between)
    t, here = route.start_s, vehicle.start
    for stop in route.stops:
        job = jobs[stop.job_id]
        visit = job.pickup if stop.kind is StopKind.PICKUP else job.delivery
        assert visit is not None
        stretches.append((t, stop.start_s, dur[here][visit.location]))
        t, here = stop.start_s + visit.service_s, visit.location
    back = dur[here][vehicle.end] if vehicle.end is not None else 0
    stretches.append((t, max(t, route.end_s), back))
    missed = []
    for pause in vehicle.breaks:
        ok = any(
            until - start - drive >= pause.duration_s
            and max(start, pause.window[0]) <= min(pause.window[1], until - pause.duration_s)
            for start, until, drive in stretches
        )
        if not ok:
            missed.append(f"{vehicle.id}: no {pause.duration_s} s break in {pause.window}")
    return missed


def route_distance(problem: Problem, vehicle: Vehicle, locations: list[int]) -> int:
    """Distance of driving ``vehicle`` through ``locations`` (and to its end, if any)."""
    path = [vehicle.start, *locations] + ([vehicle.end] if vehicle.end is not None else [])
    return sum(problem.distances[a][b] for a, b in pairwise(path))
