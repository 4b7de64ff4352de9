"""How fast the fleet simulator turns a day of routes into GPS fixes, on Monaco's roads.

    .venv/bin/python bench/simulator.py [--quick]

Imports the bundled extract into a temporary data dir, plans ``drivers`` days of ``stops``
random road points each (seeded), and times ``simulate_all``: the routing calls (embedded
OSRM) and the pure motion + GPS model separately. Prints figures, then one JSON line.
"""

import argparse
import importlib
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from backend.regions.importer import import_region  # noqa: E402
from backend.regions.metadata import osrm_file  # noqa: E402
from backend.routing.osrm_embedded import EmbeddedOsrm  # noqa: E402
from backend.simulator.runner import (  # noqa: E402
    DriverPlan,
    PlannedStop,
    SimulationConfig,
    build_run,
)

SEED = 20261121


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer drivers, under a minute")
    args = parser.parse_args()
    drivers, stops = (4, 10) if args.quick else (24, 15)

    with tempfile.TemporaryDirectory() as tmp:
        region_dir = import_region(REPO / "regions" / "monaco.osm.pbf", Path(tmp), "monaco")
        engine = EmbeddedOsrm(osrm_file(region_dir))
        # bench/ is sys.path[0] when run as a script: share routing.py's point sampler.
        sample_points = importlib.import_module("routing").sample_points
        points = sample_points(engine, drivers * (stops + 1), SEED)
        start_at = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
        plans = [
            DriverPlan(
                driver_id=d + 1,
                start=points[d * (stops + 1)],
                stops=tuple(
                    PlannedStop(p, 120.0)
                    for p in points[d * (stops + 1) + 1 : (d + 1) * (stops + 1)]
                ),
                start_at=start_at,
                end=points[d * (stops + 1)],
            )
            for d in range(drivers)
        ]
        config = SimulationConfig(seed=SEED)
        started = time.perf_counter()
        routes = [engine.route(plan.waypoints) for plan in plans]
        routing_s = time.perf_counter() - started
        started = time.perf_counter()
        runs = [build_run(plan, route, config) for plan, route in zip(plans, routes, strict=True)]
        model_s = time.perf_counter() - started
        again = [build_run(plan, route, config) for plan, route in zip(plans, routes, strict=True)]

    fixes = sum(len(r.fixes) for r in runs)
    driven_km = sum(r.route.distance_m for r in runs) / 1000
    simulated_h = sum(r.trajectory.duration_s for r in runs) / 3600
    repeatable = all(
        [s.fix for s in a.fixes] == [s.fix for s in b.fixes]
        for a, b in zip(runs, again, strict=True)
    )
    figures = {
        "bench": "simulator",
        "quick": args.quick,
        "drivers": drivers,
        "stops_per_driver": stops,
        "driven_km": round(driven_km, 1),
        "simulated_driver_hours": round(simulated_h, 2),
        "fixes": fixes,
        "routing_s": round(routing_s, 3),
        "model_s": round(model_s, 3),
        "model_fixes_per_s": round(fixes / model_s),
        "speedup_vs_real_time": round(simulated_h * 3600 / (routing_s + model_s)),
        "repeatable": repeatable,
    }
    print(
        f"{drivers} drivers x {stops} stops: {driven_km:.1f} km, {simulated_h:.1f} driver-hours, "
        f"{fixes} fixes; routing {routing_s:.3f} s, motion+GPS {model_s:.3f} s "
        f"({figures['model_fixes_per_s']} fixes/s), same seed same fixes: {repeatable}"
    )
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
