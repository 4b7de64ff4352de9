"""The solver layer on small problems both engines solve in well under a second: every job is
routed or listed with its reason, and every constraint holds when recomputed from scratch."""

import math
import random

import pytest

from backend.optimization.checks import violations
from backend.optimization.problem import UNBOUNDED, Break, Job, Problem, Vehicle, Visit
from backend.optimization.solution import StopKind, Unassigned
from backend.optimization.solver import pick_engine, solve, solve_async

ENGINES = ["pyvrp", "ortools"]


def city(n: int, seed: int = 7) -> tuple[tuple[tuple[int, ...], ...], list[tuple[float, float]]]:
    """``n`` points in a 10 km square (index 0 in the middle: the depot); travel at 10 m/s."""
    rng = random.Random(seed)
    points = [(5000.0, 5000.0)] + [(rng.uniform(0, 1e4), rng.uniform(0, 1e4)) for _ in range(n - 1)]
    metres = tuple(tuple(math.ceil(math.dist(a, b)) for b in points) for a in points)
    return metres, points


def seconds(metres: tuple[tuple[int, ...], ...]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(math.ceil(m / 10) for m in row) for row in metres)


def problem(jobs: list[Job], vehicles: list[Vehicle], n: int = 30) -> Problem:
    metres, _ = city(n)
    return Problem(seconds(metres), metres, tuple(vehicles), tuple(jobs))


def served(solution: object) -> set[str]:
    return {s.job_id for r in solution.routes for s in r.stops}  # type: ignore[attr-defined]


@pytest.mark.parametrize("engine", ENGINES)
def test_windows_capacity_and_service_times_hold(engine: str) -> None:
    rng = random.Random(3)
    jobs = []
    for k in range(1, 25):
        start = rng.randrange(0, 4 * 3600)
        jobs.append(
            Job(f"o{k}", Visit(k, 300, (start, start + 2 * 3600)), demand=(rng.randint(1, 5), 1))
        )
    vehicles = [Vehicle(f"v{k}", 0, 0, shift=(0, 10 * 3600), capacity=(25, 12)) for k in range(4)]
    p = problem(jobs, vehicles)
    solution = solve(p, time_limit_s=1, engine=engine)  # type: ignore[arg-type]
    assert solution.engine == engine
    assert violations(p, solution) == []
    assert served(solution) == {j.id for j in jobs}
    assert solution.unassigned == ()
    for route in solution.routes:  # arrivals and starts are consistent with the windows
        for stop in route.stops:
            assert stop.start_s >= stop.arrival_s


@pytest.mark.parametrize("engine", ENGINES)
def test_a_pickup_comes_before_its_drop_off_on_the_same_vehicle(engine: str) -> None:
    jobs = [Job(f"p{k}", Visit(10 + k, 120), pickup=Visit(k, 60), demand=(3,)) for k in range(1, 9)]
    vehicles = [Vehicle(f"v{k}", 0, 0, capacity=(6,)) for k in range(3)]
    p = problem(jobs, vehicles)
    solution = solve(p, time_limit_s=1, engine=engine)  # type: ignore[arg-type]
    assert violations(p, solution) == []
    assert served(solution) == {j.id for j in jobs}
    for route in solution.routes:
        kinds = [(s.job_id, s.kind) for s in route.stops]
        for job_id in {j for j, _ in kinds}:
            assert kinds.index((job_id, StopKind.PICKUP)) < kinds.index((job_id, StopKind.DELIVERY))


def test_jobs_no_vehicle_can_serve_are_returned_with_the_reason() -> None:
    jobs = [
        Job("fine", Visit(1, 60)),
        Job("cold", Visit(2, 60), skills=frozenset({"fridge"})),
        Job("heavy", Visit(3, 60), demand=(500,)),
        Job("too-early", Visit(4, 60, (0, 1))),  # no vehicle gets there within 1 s
    ]
    p = problem(jobs, [Vehicle("v", 0, 0, capacity=(100,))])
    solution = solve(p, time_limit_s=0.5)
    assert dict(solution.unassigned) == {
        "cold": Unassigned.NO_VEHICLE_WITH_SKILLS,
        "heavy": Unassigned.OVER_CAPACITY,
        "too-early": Unassigned.WINDOW_UNREACHABLE,
    }
    assert served(solution) == {"fine"}
    assert violations(p, solution) == []


@pytest.mark.parametrize("engine", ENGINES)
def test_a_priority_job_is_kept_when_not_everything_fits(engine: str) -> None:
    # one van with room for two of three parcels; the priority one is never the one left
    jobs = [
        Job("near", Visit(1, 60), demand=(1,)),
        Job("also-near", Visit(2, 60), demand=(1,)),
        Job("far-but-urgent", Visit(3, 60), demand=(1,), priority=True),
    ]
    p = problem(jobs, [Vehicle("v", 0, 0, capacity=(2,))])
    solution = solve(p, time_limit_s=0.5, engine=engine)  # type: ignore[arg-type]
    assert "far-but-urgent" in served(solution)
    assert len(solution.unassigned) == 1
    assert solution.unassigned[0][1] is Unassigned.NO_ROOM
    assert violations(p, solution) == []


@pytest.mark.parametrize("engine", ENGINES)
def test_skills_max_stops_and_open_routes(engine: str) -> None:
    if engine == "pyvrp":
        with pytest.raises(ValueError, match="skills"):
            pick_engine(problem([Job("c", Visit(1), skills=frozenset({"x"}))], []), "pyvrp")
        skills: frozenset[str] = frozenset()
    else:
        skills = frozenset({"fridge"})
    jobs = [
        Job(f"o{k}", Visit(k, 60), skills=skills if k % 3 == 0 else frozenset())
        for k in range(1, 13)
    ]
    vehicles = [
        Vehicle("cold", 0, None, capacity=(), skills=frozenset({"fridge"}), max_stops=5),
        Vehicle("plain", 0, 0, max_stops=8),
    ]
    p = problem(jobs, vehicles)
    solution = solve(p, time_limit_s=1, engine=engine)  # type: ignore[arg-type]
    assert violations(p, solution) == []
    assert served(solution) == {j.id for j in jobs}
    cold = next(r for r in solution.routes if r.vehicle_id == "cold")
    last = cold.stops[-1]
    assert cold.end_s == last.start_s + 60  # open: the route ends at its last stop


def test_the_engine_is_picked_per_problem() -> None:
    plain = problem([Job("a", Visit(1))], [Vehicle("v", 0, 0)])
    pairs = problem([Job("a", Visit(1), pickup=Visit(2))], [Vehicle("v", 0, 0)])
    skilled = problem([Job("a", Visit(1), skills=frozenset({"id"}))], [Vehicle("v", 0, 0)])
    assert pick_engine(plain) == "pyvrp"
    assert pick_engine(pairs) == "pyvrp"
    assert pick_engine(skilled) == "ortools"
    assert pick_engine(plain, "ortools") == "ortools"
    assert UNBOUNDED > 10**12


async def test_solving_off_the_event_loop_gives_the_same_answer() -> None:
    jobs = [Job(f"o{k}", Visit(k, 60)) for k in range(1, 10)]
    p = problem(jobs, [Vehicle("v", 0, 0)])
    remote = await solve_async(p, time_limit_s=0.5)
    assert violations(p, remote) == []
    assert served(remote) == {j.id for j in jobs}


def test_a_soft_window_may_be_missed_at_a_cost_a_hard_one_may_not() -> None:
    # location 1 is ~5 km from the depot at 10 m/s: ~500 s away; the window closes at 100 s
    hard = Job("hard", Visit(1, 60, (0, 100)))
    soft = Job("soft", Visit(1, 60, (0, 100), late_cost_per_s=10, max_late_s=3600))
    van = Vehicle("van", 0, 0)
    refused = solve(problem([hard], [van]), time_limit_s=0.5)
    assert dict(refused.unassigned) == {"hard": Unassigned.WINDOW_UNREACHABLE}
    p = problem([soft], [van])
    late = solve(p, time_limit_s=0.5)
    assert late.engine == "ortools"
    assert served(late) == {"soft"}
    assert late.routes[0].stops[0].start_s > 100  # late, and allowed to be
    assert violations(p, late) == []


def test_drivers_get_their_break() -> None:
    rng = random.Random(9)
    jobs = [Job(f"o{k}", Visit(k, 600, (0, 8 * 3600))) for k in range(1, 21)]
    rng.shuffle(jobs)
    pause = Break(window=(2 * 3600, 3 * 3600), duration_s=1800)
    with_break = [Vehicle(f"v{k}", 0, 0, shift=(0, 9 * 3600), breaks=(pause,)) for k in range(2)]
    p = problem(jobs, with_break)
    solution = solve(p, time_limit_s=2)
    assert solution.engine == "ortools"
    assert served(solution) == {j.id for j in jobs}
    assert violations(p, solution) == []  # includes: each route has its 30 min idle gap
    # The check itself notices a route that never stops: the same plan made without breaks
    # and packed tight fails it.
    busy = [Vehicle("v0", 0, 0, shift=(0, 9 * 3600))]
    tight = solve(problem(jobs[:12], busy), time_limit_s=1)
    with_pause = problem(jobs[:12], [Vehicle("v0", 0, 0, shift=(0, 9 * 3600), breaks=(pause,))])
    assert any("break" in v for v in violations(with_pause, tight))
