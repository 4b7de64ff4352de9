"""Off-route checks per second against a 5,000-point planned path, on one core, no I/O.

    .venv/bin/python bench/deviation.py [--quick]

One planned path of 5,000 points (a 125 km day through a 20 x 20 km street grid, a point
every 25 m, as a routing engine returns road geometry) and 20 drivers following it from
different starts at 10 m/s, a fix a second with 8 m of noise; every 10 minutes each one
takes a parallel street 300 m away for 2 minutes. 100,000 fixes (20,000 with --quick)
through :class:`DeviationDetector`, driver by driver, plus the path queries alone.

Prints the index build time, fixes/s, queries/s with the segments each one examined, and
the events; last line JSON.
"""

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.geofencing.deviation import DeviationDetector, PlannedPath
from backend.locations.fix import Fix
from shared.enums import DriverEventKind
from shared.geo import Point

CENTER = Point(43.7384, 7.4246)
M_PER_DEG = 111_195.0
STEP_M = 25.0  # between the path's points
BLOCK_M = 200.0  # between streets


def at(east: float, north: float) -> Point:
    return Point(
        CENTER.lat + north / M_PER_DEG,
        CENTER.lng + east / (M_PER_DEG * math.cos(math.radians(CENTER.lat))),
    )


def street_walk(rng: random.Random, points: int) -> list[tuple[float, float]]:
    """``points`` points (east, north metres), ``STEP_M`` apart, along a street grid:
    straight on, or a turn at a crossing, kept within 10 km of the centre."""
    x = y = 0.0
    dx, dy = 1, 0
    walk = [(x, y)]
    while len(walk) < points:
        if x % BLOCK_M == 0 and y % BLOCK_M == 0 and rng.random() < 0.1:
            dx, dy = rng.choice([(dy, -dx), (-dy, dx)])  # turn left or right
        if abs(x + dx * BLOCK_M) > 10_000 or abs(y + dy * BLOCK_M) > 10_000:
            dx, dy = -dx, -dy
        x, y = x + dx * STEP_M, y + dy * STEP_M
        walk.append((x, y))
    return walk


def drive(rng: random.Random, walk: list[tuple[float, float]], start: int, fixes: int) -> list[Fix]:
    """A fix a second at 10 m/s along ``walk`` from its point ``start``, 300 m to the side
    for minutes 8 and 9 of every 10."""
    track = []
    for t in range(fixes):
        along = (start * STEP_M + 10.0 * t) % ((len(walk) - 1) * STEP_M)
        k, share = divmod(along / STEP_M, 1.0)
        (ax, ay), (bx, by) = walk[int(k)], walk[int(k) + 1]
        east, north = ax + (bx - ax) * share, ay + (by - ay) * share
        if t % 600 >= 480:  # on a parallel street: 300 m to the left of the way
            east, north = east - (by - ay) / STEP_M * 300, north + (bx - ax) / STEP_M * 300
        p = at(east + rng.gauss(0, 8), north + rng.gauss(0, 8))
        track.append(Fix(p.lat, p.lng, float(t), float(t), accuracy_m=10.0))
    return track


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 fixes (a few seconds)")
    args = parser.parse_args()
    rng = random.Random(7)
    walk = street_walk(rng, 5_000)
    started = time.perf_counter()
    path = PlannedPath([at(x, y) for x, y in walk])
    build_ms = (time.perf_counter() - started) * 1e3
    print(f"path: {len(walk):,} points, {path.length_m / 1e3:.0f} km, indexed in {build_ms:.0f} ms")

    drivers, per_driver = 20, (1_000 if args.quick else 5_000)
    tracks = [drive(rng, walk, rng.randrange(len(walk)), per_driver) for _ in range(drivers)]
    fixes = drivers * per_driver
    events = {DriverEventKind.OFF_ROUTE: 0, DriverEventKind.BACK_ON_ROUTE: 0}
    started = time.perf_counter()
    for track in tracks:
        detector = DeviationDetector(path)
        for fix in track:
            change = detector.update(fix)
            if change is not None:
                events[change.kind] += 1
    elapsed = time.perf_counter() - started
    fixes_per_s = round(fixes / elapsed)
    print(f"detector: {fixes:,} fixes from {drivers} drivers, {fixes_per_s:,} fixes/s")
    print(f"events: {events[DriverEventKind.OFF_ROUTE]} off route, ", end="")
    print(f"{events[DriverEventKind.BACK_ON_ROUTE]} back on route")

    # The index alone, on the same fixes, at the detector's search radius (200 m + 10 m).
    queries = [fix for track in tracks for fix in track]
    examined = found = 0
    started = time.perf_counter()
    for fix in queries:
        nearest = path.nearest(fix.lat, fix.lng, 210.0)
        if nearest is not None:
            found += 1
            examined += nearest.examined
    elapsed = time.perf_counter() - started
    queries_per_s = round(len(queries) / elapsed)
    per_query = round(examined / max(found, 1), 1)
    print(f"index: {queries_per_s:,} queries/s, {per_query} segments examined per hit")
    print(
        json.dumps(
            {
                "path_points": len(walk),
                "index_build_ms": round(build_ms, 1),
                "fixes": fixes,
                "fixes_per_s": fixes_per_s,
                "queries_per_s": queries_per_s,
                "segments_examined_per_hit": per_query,
                "off_route_events": events[DriverEventKind.OFF_ROUTE],
                "back_on_route_events": events[DriverEventKind.BACK_ON_ROUTE],
                "quick": args.quick,
            }
        )
    )


if __name__ == "__main__":
    main()
