"""Routing and map tile timings on the demo region (Monaco), embedded OSRM and OSRM over HTTP.

Run from the repository root::

    .venv/bin/python bench/routing.py [--quick]

It imports the bundled ``regions/monaco.osm.pbf`` into a temporary data dir (timed), loads
the embedded engine, starts the wheel's ``osrm-routed`` on a free 127.0.0.1 port (stopped by
PID at the end), and times 100 x 100, 500 x 500 and 1000 x 1000 matrices and 1,000 routes
with full geometry on both engines, then the map tiles (``bench/tiles.py``'s ``measure``).
Points: uniform in lat 43.724-43.752, lng 7.405-7.440 with a fixed seed, snapped to the
nearest road (candidates more than 200 m from one, i.e. in the sea, are drawn again).
Figures for people first; the last line of standard output is one JSON object.
"""

import argparse
import importlib
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from backend.regions.importer import import_region
from backend.regions.metadata import osrm_file
from backend.routing.osrm_embedded import EmbeddedOsrm
from backend.routing.osrm_http import HttpOsrm
from backend.routing.port import OffRoadError, RoutingEngine
from shared.geo import Point
from tests.backend.routing.osrm_server import run_osrm_routed

REPO = Path(__file__).resolve().parents[1]
MONACO_PBF = REPO / "regions" / "monaco.osm.pbf"
SEED = 20261121
SIZES = (100, 500, 1000)
ROUTES = 1000
MAX_SNAP_M = 200.0


def sample_points(engine: RoutingEngine, count: int, seed: int) -> list[Point]:
    """``count`` points on Monaco's roads: uniform candidates snapped to the nearest road."""
    rng = np.random.default_rng(seed)
    points: list[Point] = []
    while len(points) < count:
        probe = Point(float(rng.uniform(43.724, 43.752)), float(rng.uniform(7.405, 7.440)))
        try:
            snap = engine.nearest(probe)
        except OffRoadError:
            continue
        if snap.distance_m <= MAX_SNAP_M:
            points.append(snap.point)
    return points


def timed(call: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median, best) wall time of ``repeats`` calls, seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times)


def measure_engine(
    engine: RoutingEngine, points: list[Point], repeats: int, prefix: str
) -> dict[str, float]:
    figures: dict[str, float] = {}
    engine.matrix(points[:10], points[:10])  # warm-up: first touches of the data
    for n in SIZES:
        subset = points[:n]
        median, best = timed(partial(engine.matrix, subset, subset), repeats)
        figures[f"{prefix}matrix_{n}_s"] = round(median, 4)
        figures[f"{prefix}matrix_{n}_best_s"] = round(best, 4)
        print(
            f"  {engine.name:14} matrix {n:4} x {n:<4}  median {median:7.3f} s  best {best:7.3f} s"
        )
    pairs = [(points[i], points[(i * 7 + 13) % len(points)]) for i in range(ROUTES)]
    vertices = 0

    def all_routes() -> None:
        nonlocal vertices
        vertices = sum(len(engine.route([a, b]).geometry) for a, b in pairs)

    median, best = timed(all_routes, repeats)
    figures[f"{prefix}routes_{ROUTES}_s"] = round(median, 4)
    figures[f"{prefix}routes_{ROUTES}_best_s"] = round(best, 4)
    print(
        f"  {engine.name:14} {ROUTES} routes with geometry  median {median:7.3f} s  "
        f"best {best:7.3f} s  ({median / ROUTES * 1000:.2f} ms each, "
        f"{vertices / ROUTES:.0f} vertices on average)"
    )
    return figures


def tile_figures(region_dir: Path, quick: bool) -> dict[str, float]:
    # bench/tiles.py, importable as `tiles` because bench/ is sys.path[0] for a script.
    try:
        measure = importlib.import_module("tiles").measure
    except (ImportError, AttributeError):
        print("  bench/tiles.py has no measure(); tile figures left out")
        return {}
    figures: dict[str, float] = measure(region_dir, quick)
    for key, value in figures.items():
        print(f"  {key:28} {value}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition each (< 1 min)")
    args = parser.parse_args()
    repeats = 1 if args.quick else 5
    load_before = os.getloadavg()[0]
    results: dict[str, Any] = {"quick": args.quick, "repeats": repeats, "seed": SEED}
    with tempfile.TemporaryDirectory(prefix="lastmile-routing-bench-") as tmp:
        started = time.perf_counter()
        region_dir = import_region(MONACO_PBF, Path(tmp) / "regions")
        results["region_import_s"] = round(time.perf_counter() - started, 2)
        print(
            f"region import (OSRM extract + contract + tile index): {results['region_import_s']} s"
        )
        started = time.perf_counter()
        embedded = EmbeddedOsrm(osrm_file(region_dir), max_snap_m=1000.0)
        results["engine_load_s"] = round(time.perf_counter() - started, 3)
        points = sample_points(embedded, max(SIZES), SEED)
        print(f"embedded engine loaded in {results['engine_load_s']} s; {len(points)} points")
        results.update(measure_engine(embedded, points, repeats, ""))
        with run_osrm_routed(osrm_file(region_dir), threads=os.cpu_count() or 2) as url:
            # A loaded CI machine can take longer than the product's default timeout for the
            # 1000-point table; here the time is what is measured, so wait for it.
            http = HttpOsrm(url, max_snap_m=1000.0, timeout_s=300.0)
            try:
                results.update(measure_engine(http, points, repeats, "http_"))
            finally:
                http.close()
        print("map tiles (bench/tiles.py):")
        results.update(tile_figures(region_dir, args.quick))
    results["target_matrix_1000_under_1s"] = results["matrix_1000_s"] < 1.0
    results["cpus"] = os.cpu_count()
    results["python"] = platform.python_version()
    results["loadavg_1m_before"] = round(load_before, 2)
    results["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
