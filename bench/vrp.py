"""Route optimiser on Solomon VRPTW instances: gap to the best-known distance, beside VROOM.

    .venv/bin/python bench/vrp.py [--quick] [--instances DIR] [--budgets 1,3,10] [--out F.json]

Conventions (``bench/data/vrp/README.md``): exact Euclidean distances; travel time = distance;
the solvers get them x 1000 rounded up (so a solution feasible for them is feasible exactly);
every returned solution is re-checked here in double precision (capacity, windows, service
times, every customer once, at most the file's vehicles) and its distance recomputed. The
objective is distance only. VROOM (``pyvroom``, exploration level 5, one thread) runs on the
same integer matrices, cut at the same budget. Last line: JSON.
"""

import argparse
import csv
import json
import math
import random
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import vroom

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.optimization.checks import violations
from backend.optimization.insertion import ActiveRoute, Remaining, best_insertion
from backend.optimization.problem import Job, Problem, Vehicle, Visit
from backend.optimization.solution import StopKind
from backend.optimization.solver import Engine, solve

SCALE = 1000
DATA = Path(__file__).resolve().parent / "data" / "vrp"


@dataclass(frozen=True)
class Instance:
    name: str
    vehicles: int
    capacity: int
    xy: list[tuple[float, float]]
    demand: list[int]
    ready: list[float]
    due: list[float]
    service: list[float]

    def dist(self, a: int, b: int) -> float:
        return math.dist(self.xy[a], self.xy[b])


def read_solomon(path: Path) -> Instance:
    lines = [line.split() for line in path.read_text().splitlines()]
    numbers = [row for row in lines if row and all(_is_number(x) for x in row)]
    vehicles, capacity = (int(x) for x in numbers[0])
    rows = [row for row in numbers[1:] if len(row) == 7]
    return Instance(
        path.stem,
        vehicles,
        capacity,
        [(float(r[1]), float(r[2])) for r in rows],
        [int(float(r[3])) for r in rows],
        [float(r[4]) for r in rows],
        [float(r[5]) for r in rows],
        [float(r[6]) for r in rows],
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def scaled_matrix(inst: Instance) -> tuple[tuple[int, ...], ...]:
    n = len(inst.xy)
    return tuple(tuple(math.ceil(inst.dist(a, b) * SCALE) for b in range(n)) for a in range(n))


def to_problem(inst: Instance, matrix: tuple[tuple[int, ...], ...]) -> Problem:
    depot_due = math.floor(inst.due[0] * SCALE)
    vehicles = tuple(
        Vehicle(f"v{k}", 0, 0, shift=(0, depot_due), capacity=(inst.capacity,))
        for k in range(inst.vehicles)
    )
    jobs = tuple(
        Job(
            str(c),
            Visit(
                c,
                round(inst.service[c] * SCALE),
                (math.ceil(inst.ready[c] * SCALE), math.floor(inst.due[c] * SCALE)),
            ),
            demand=(inst.demand[c],),
        )
        for c in range(1, len(inst.xy))
    )
    return Problem(matrix, matrix, vehicles, jobs, objective="distance")


def check(inst: Instance, routes: list[list[int]]) -> tuple[float, list[str]]:
    """Exact distance of ``routes`` (customer numbers) and every broken constraint."""
    problems: list[str] = []
    total = 0.0
    served: list[int] = [c for route in routes for c in route]
    if sorted(served) != list(range(1, len(inst.xy))):
        problems.append(f"customers served {len(served)}, distinct {len(set(served))}")
    if len(routes) > inst.vehicles:
        problems.append(f"{len(routes)} routes, {inst.vehicles} vehicles")
    for route in routes:
        if sum(inst.demand[c] for c in route) > inst.capacity:
            problems.append(f"route {route[:3]}...: over capacity")
        t, here = 0.0, 0
        for c in route:
            total += inst.dist(here, c)
            t = max(t + inst.dist(here, c), inst.ready[c])
            if t > inst.due[c] + 1e-9:
                problems.append(f"customer {c}: starts at {t:.3f}, due {inst.due[c]}")
            t += inst.service[c]
            here = c
        total += inst.dist(here, 0)
        if t + inst.dist(here, 0) > inst.due[0] + 1e-9:
            problems.append(f"route ending at {here}: back after the depot closes")
    return total, problems


def ours(inst: Instance, matrix: tuple[tuple[int, ...], ...], budget: float) -> list[list[int]]:
    solution = solve(to_problem(inst, matrix), time_limit_s=budget, seed=1)
    return [
        [int(s.job_id) for s in r.stops if s.kind is StopKind.DELIVERY]
        for r in solution.routes
        if r.stops
    ]


def with_vroom(
    inst: Instance, matrix: tuple[tuple[int, ...], ...], budget: float
) -> list[list[int]]:
    problem = vroom.Input()
    problem.set_durations_matrix("car", matrix)
    depot_due = math.floor(inst.due[0] * SCALE)
    for k in range(inst.vehicles):
        problem.add_vehicle(
            vroom.Vehicle(
                k + 1,
                start=0,
                end=0,
                capacity=[inst.capacity],
                time_window=vroom.TimeWindow(0, depot_due),
            )
        )
    for c in range(1, len(inst.xy)):
        problem.add_job(
            vroom.Job(
                c,
                location=c,
                default_service=round(inst.service[c] * SCALE),
                delivery=[inst.demand[c]],
                time_windows=[
                    vroom.TimeWindow(
                        math.ceil(inst.ready[c] * SCALE), math.floor(inst.due[c] * SCALE)
                    )
                ],
            )
        )
    solution = problem.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=budget))
    frame = solution.routes
    routes: dict[int, list[int]] = {}
    for vehicle_id, step_type, job_id in zip(
        frame["vehicle_id"], frame["type"], frame["id"], strict=True
    ):
        if step_type == "job":
            routes.setdefault(int(vehicle_id), []).append(int(job_id))
    return list(routes.values())


def insertion_p95(inst: Instance, matrix: tuple[tuple[int, ...], ...], trials: int) -> float:
    """Seconds to insert one new order into a 100-stop plan, moving up to 3 other stops (p95
    over ``trials``): the plan is
    ours at 1 s; each driver's first stop is locked (being driven to)."""
    problem = to_problem(inst, matrix)
    solution = solve(problem, time_limit_s=1, seed=1)
    jobs = {j.id: j for j in problem.jobs}
    vehicles = {v.id: v for v in problem.vehicles}
    active = []
    for route in solution.routes:
        first, rest = route.stops[0], route.stops[1:]
        visit = jobs[first.job_id].delivery
        load = sum(problem.demand(jobs[s.job_id])[0] for s in rest)
        active.append(
            ActiveRoute(
                vehicles[route.vehicle_id],
                first.location,
                first.start_s + visit.service_s,
                (load,),
                tuple(Remaining(jobs[s.job_id], s.kind) for s in rest),
                stops_done=1,
            )
        )
    rng = random.Random(5)
    times = []
    for k in range(trials):
        like = rng.choice(problem.jobs)
        new = Job(f"new{k}", like.delivery, demand=(rng.randint(1, 20),))
        started = time.perf_counter()
        best_insertion(problem, active, new, max_moved=3)  # the product default
        times.append(time.perf_counter() - started)
    times.sort()
    return times[min(len(times) - 1, int(0.95 * len(times)))]


def generated(
    pairs: int, vehicles: int, seed: int, size_m: float = 20_000, capacity: int = 100
) -> Problem:
    """A seeded city: ``pairs`` pickup→drop-off jobs (or drop-offs when ``pairs`` is
    negative), windows over a 10 h day, 10 m/s, ``capacity`` per vehicle (demands 5-30)."""
    rng = random.Random(seed)
    count = abs(pairs)
    points = [(size_m / 2, size_m / 2)] + [
        (rng.uniform(0, size_m), rng.uniform(0, size_m)) for _ in range(count * 2)
    ]
    metres = tuple(tuple(math.ceil(math.dist(a, b)) for b in points) for a in points)
    secs = tuple(tuple(math.ceil(m / 10) for m in row) for row in metres)
    jobs = []
    for k in range(count):
        start = rng.randrange(0, 8 * 3600)
        window = (start, start + 2 * 3600)
        drop = Visit(2 * k + 1, 180, window)
        pickup = Visit(2 * k + 2, 120, (0, start + 3600)) if pairs > 0 else None
        jobs.append(Job(f"j{k}", drop, pickup=pickup, demand=(rng.randint(5, 30),)))
    fleet = tuple(
        Vehicle(f"v{k}", 0, 0, shift=(0, 12 * 3600), capacity=(capacity,)) for k in range(vehicles)
    )
    return Problem(secs, metres, fleet, tuple(jobs))


def run_generated(name: str, problem: Problem, budget: float, engine: Engine) -> dict[str, Any]:
    started = time.monotonic()
    solution = solve(problem, time_limit_s=budget, seed=1, engine=engine)
    took = time.monotonic() - started
    broken = violations(problem, solution)
    routed = {s.job_id for r in solution.routes for s in r.stops}
    reasons: dict[str, int] = {}
    for _, why in solution.unassigned:
        reasons[why.value] = reasons.get(why.value, 0) + 1
    print(
        f"{name}: {len(routed)} routed, {len(solution.unassigned)} unassigned {reasons}, "
        f"drive {solution.drive_s / 3600:.1f} h, {solution.distance_m / 1000:.0f} km, "
        f"{len(solution.routes)} routes, {took:.1f} s ({solution.engine}), "
        f"{'feasible' if not broken else f'INFEASIBLE {broken[:2]}'}",
        flush=True,
    )
    return {
        "routed": len(routed),
        "unassigned": reasons,
        "drive_h": round(solution.drive_s / 3600, 2),
        "seconds": round(took, 1),
        "feasible": not broken,
        "engine": solution.engine,
    }


def read_bks(directory: Path) -> dict[str, float]:
    path = directory / "bks.csv"
    if not path.exists():
        return {}
    with path.open() as f:
        return {row["instance"]: float(row["distance"]) for row in csv.DictReader(f)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 instances, 1 s and 3 s")
    parser.add_argument("--instances", type=Path, default=DATA, help="Solomon files (+ bks.csv)")
    parser.add_argument("--budgets", default=None, help="seconds, comma-separated (1,3,10)")
    parser.add_argument("--out", type=Path, help="write every solution's routes here (JSON)")
    parser.add_argument("--no-vroom", action="store_true", help="skip the VROOM reference")
    args = parser.parse_args()
    files = sorted(p for p in args.instances.glob("*.txt") if p.name != "README.txt")
    budgets = [float(b) for b in (args.budgets or ("1,3" if args.quick else "1,3,10")).split(",")]
    if args.quick:
        files = [f for f in files if f.stem in ("C101", "R101", "RC106", "R206")] or files[:4]
    bks = read_bks(args.instances)

    gaps: dict[str, dict[str, list[float]]] = {"ours": {}, "vroom": {}}
    infeasible = 0
    out: dict[str, Any] = {}
    for path in files:
        inst = read_solomon(path)
        matrix = scaled_matrix(inst)
        for budget in budgets:
            key = f"{budget:g}"
            for who, run in (("ours", ours), ("vroom", with_vroom)):
                if who == "vroom" and args.no_vroom:
                    continue
                started = time.monotonic()
                routes = run(inst, matrix, budget)
                took = time.monotonic() - started
                distance, problems = check(inst, routes)
                infeasible += bool(problems) and who == "ours"
                best = bks.get(inst.name)
                gap = (distance / best - 1) * 100 if best else float("nan")
                if not problems and best:
                    gaps[who].setdefault(key, []).append(gap)
                out.setdefault(inst.name, {}).setdefault(who, {})[key] = {
                    "distance": round(distance, 4),
                    "vehicles": len(routes),
                    "feasible": not problems,
                    "routes": routes,
                }
                status = "ok" if not problems else f"INFEASIBLE: {problems[:2]}"
                print(
                    f"{inst.name:6} {who:5} {key:>3} s: {distance:9.2f} "
                    f"({gap:+5.2f} %) {len(routes):2} routes, {took:4.1f} s, {status}",
                    flush=True,
                )

    first = read_solomon(files[0]) if files else None
    insert_p95 = (
        insertion_p95(first, scaled_matrix(first), 20 if args.quick else 100) if first else None
    )
    if first is not None and insert_p95 is not None:
        print(f"insert one order into the {first.name} plan: p95 {insert_p95 * 1000:.1f} ms")
    pd_budget = 3.0 if args.quick else 10.0
    pickup_delivery = {
        engine: run_generated(
            f"100 pickup-delivery pairs, {engine}, {pd_budget:g} s",
            generated(100, 25, seed=11),
            pd_budget,
            engine,
        )
        for engine in ("pyvrp", "ortools")
    }
    large = (
        None
        if args.quick
        else run_generated(
            "1,000 orders / 50 vehicles, 50 s",
            generated(-1000, 50, seed=12, size_m=40_000),
            50,
            "auto",
        )
    )

    def averages(who: str) -> dict[str, float]:
        return {k: round(sum(v) / len(v), 3) for k, v in gaps[who].items() if v}

    result: dict[str, Any] = {
        "avg_gap_pct": averages("ours"),
        "vroom_avg_gap_pct": averages("vroom"),
        "infeasible": infeasible,
        "instances": len(files),
        "budgets_s": budgets,
        "insert_p95_s": round(insert_p95, 4) if insert_p95 is not None else None,
        "pickup_delivery": pickup_delivery,
        "large_1000": large,
    }
    for key, value in result["avg_gap_pct"].items():
        print(
            f"average gap at {key} s: ours {value:.2f} %, "
            f"VROOM {result['vroom_avg_gap_pct'].get(key, float('nan')):.2f} %"
        )
    if args.out:
        args.out.write_text(json.dumps(out, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
