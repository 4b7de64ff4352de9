"""Geofence checks per second with 10,000 active fences, on one core, no I/O.

    .venv/bin/python bench/geofence.py [--quick]

500 routes of 10 stops spread over a 20 x 20 km city, each stop with an arrival fence
(150 m) and a "nearby" fence (500 m): 10,000 fences, plus 20 zones of the drivers'
organisation (12-sided polygons, 800 m across). Then two loads through
:class:`GeofenceEngine`, in batches of 10:

* *routes*: every driver drives its route stop to stop at 10 m/s, a fix a second with 5 m
  of noise: the realistic mix, most fixes near no fence;
* *dense*: every fix within 600 m of one of its driver's stops: the worst case, where
  each fix has fences to evaluate.

Prints fixes/s, fix-fence evaluations/s and events; last line JSON.
"""

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import itertools

from backend.geofencing.engine import Fence, GeofenceEngine
from backend.geofencing.shapes import Circle, Polygon
from backend.locations.fix import DriverRef, Fix
from shared.geo import Point

CENTER = Point(43.7384, 7.4246)
M_PER_DEG = 111_195.0
ORG = 1


def at(north: float, east: float) -> Point:
    return Point(
        CENTER.lat + north / M_PER_DEG,
        CENTER.lng + east / (M_PER_DEG * math.cos(math.radians(CENTER.lat))),
    )


def city(rng: random.Random, routes: int) -> tuple[GeofenceEngine, dict[int, list[Point]]]:
    engine = GeofenceEngine()
    stops: dict[int, list[Point]] = {}
    for driver in range(routes):
        stops[driver] = [at(rng.uniform(-1e4, 1e4), rng.uniform(-1e4, 1e4)) for _ in range(10)]
        for k, stop in enumerate(stops[driver]):
            engine.put(Fence(f"stop:{driver}:{k}:arrival", Circle(stop, 150), driver_id=driver))
            engine.put(Fence(f"stop:{driver}:{k}:nearby", Circle(stop, 500), driver_id=driver))
    for zone in range(20):
        north, east = rng.uniform(-8e3, 8e3), rng.uniform(-8e3, 8e3)
        ring = tuple(
            at(north + 400 * math.sin(a), east + 400 * math.cos(a))
            for a in (i * 2 * math.pi / 12 for i in range(12))
        )
        engine.put(Fence(f"zone:{zone}", Polygon(ring), org_id=ORG))
    return engine, stops


def along_routes(
    rng: random.Random, stops: dict[int, list[Point]], limit: int
) -> dict[int, list[Fix]]:
    tracks: dict[int, list[Fix]] = {}
    for driver, points in stops.items():
        track: list[Fix] = []
        t = 0.0
        for a, b in itertools.pairwise(points):
            metres = math.hypot((b.lat - a.lat) * M_PER_DEG, (b.lng - a.lng) * M_PER_DEG * 0.72)
            steps = max(1, int(metres / 10))
            for i in range(steps):
                f = i / steps
                lat = a.lat + (b.lat - a.lat) * f + rng.gauss(0, 5 / M_PER_DEG)
                track.append(Fix(lat, a.lng + (b.lng - a.lng) * f, t, t, accuracy_m=8))
                t += 1
        tracks[driver] = track[:limit]
    return tracks


def near_stops(
    rng: random.Random, stops: dict[int, list[Point]], per_driver: int
) -> dict[int, list[Fix]]:
    tracks: dict[int, list[Fix]] = {}
    for driver, points in stops.items():
        track = []
        for t in range(per_driver):
            stop = points[t // 60 % len(points)]
            r, a = rng.uniform(0, 600), rng.uniform(0, 2 * math.pi)
            lat = stop.lat + r * math.sin(a) / M_PER_DEG
            lng = stop.lng + r * math.cos(a) / (M_PER_DEG * 0.72)
            track.append(Fix(lat, lng, float(t), float(t), accuracy_m=8))
        tracks[driver] = track
    return tracks


def run(engine: GeofenceEngine, tracks: dict[int, list[Fix]]) -> dict[str, float]:
    before = engine.evaluations
    fixes = events = 0
    started = time.perf_counter()
    for driver, track in tracks.items():
        for i in range(0, len(track), 10):
            events += len(engine.check(DriverRef(ORG, driver), track[i : i + 10]))
        fixes += len(track)
    elapsed = time.perf_counter() - started
    evaluations = engine.evaluations - before
    return {
        "fixes": fixes,
        "fixes_per_s": round(fixes / elapsed),
        "evaluations_per_s": round(evaluations / elapsed),
        "evaluations_per_fix": round(evaluations / fixes, 2),
        "events": events,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer fixes (~10 s)")
    args = parser.parse_args()
    rng = random.Random(7)
    engine, stops = city(rng, 500)
    print(f"{len(engine):,} fences ({500 * 20:,} on 500 routes, 20 zones)")
    limit = 1_000 if args.quick else 10_000
    routes = run(engine, along_routes(rng, stops, limit))
    print(f"routes: {routes}")
    fresh, _ = city(random.Random(7), 500)
    dense = run(fresh, near_stops(rng, stops, limit // 5))
    print(f"dense:  {dense}")
    print(
        json.dumps(
            {
                "fences": len(engine),
                "fixes_per_s": routes["fixes_per_s"],
                "fence_checks_per_s": dense["evaluations_per_s"],
                "dense_fixes_per_s": dense["fixes_per_s"],
                "routes": routes,
                "dense": dense,
                "quick": args.quick,
            }
        )
    )


if __name__ == "__main__":
    main()
