"""Zone filter and nearest drivers on PostgreSQL: the Python path against the PostGIS path
(issue 12), on the same database.

    .venv/bin/python bench/postgis.py [--quick] [--orders N] [--drivers N]

Starts a private PostgreSQL (the test suite's ``run_postgres``; Debian's ``postgresql`` and
``postgresql-15-postgis-3``), migrates a fresh database (migration 0020 creates PostGIS),
and writes one organisation with ``--orders`` orders (100,000) whose drop-offs are spread
evenly over a 20 km square of Paris, and ``--drivers`` on-duty drivers (1,000), each with
10 fixes in the same square. Then times, as the median of a few runs:

* ``orders_dropping_off_in`` for a concave 12-point star (3 km across, ~0.6 % of the
  drop-offs) and a 5 km corridor 200 m wide (~0.3 %), on each path;
* ``nearest_drivers`` (10 nearest to the centre), on each path;

and checks that both paths gave the same answers. Prints a table of milliseconds; last
line JSON. Without PostgreSQL or PostGIS it says so and prints ``{"skipped": ...}``.
"""

import argparse
import asyncio
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.db import create_engine
from backend.fleet.nearest import nearest_drivers
from backend.migrate import upgrade
from backend.models import Driver, LocationFix, Order, Organization, Stop, Zone
from backend.orders.zone_filter import orders_dropping_off_in
from backend.spatial.postgis import SpatialPath, spatial_path
from shared.enums import DriverStatus, OrderStatus, StopKind, ZoneKind
from shared.geo import Point
from tests.postgres_server import POSTGRES_SERVER, run_postgres

CENTRE = Point(48.8566, 2.3522)
HALF_SIDE_M = 10_000.0
M_PER_DEG = math.pi * 6_371_008.8 / 180
PATHS: tuple[SpatialPath, ...] = ("python", "postgis")


def at(north_m: float, east_m: float) -> tuple[float, float]:
    return (
        CENTRE.lat + north_m / M_PER_DEG,
        CENTRE.lng + east_m / (M_PER_DEG * math.cos(math.radians(CENTRE.lat))),
    )


def anywhere(rng: random.Random) -> tuple[float, float]:
    return at(rng.uniform(-HALF_SIDE_M, HALF_SIDE_M), rng.uniform(-HALF_SIDE_M, HALF_SIDE_M))


def zones() -> dict[str, Zone]:
    star = [
        list(at(r * math.sin(a), r * math.cos(a)))
        for k in range(12)
        for a, r in [(2 * math.pi * k / 12, 1500.0 if k % 2 else 600.0)]
    ]
    line = [list(at(-500, -2500)), list(at(300, 0)), list(at(-200, 2500))]
    return {
        "zone (12-point star)": Zone(id=1, org_id=0, name="star", kind=ZoneKind.ZONE, points=star),
        "corridor (5 km, 200 m)": Zone(
            id=2, org_id=0, name="road", kind=ZoneKind.CORRIDOR, points=line, width_m=200.0
        ),
    }


async def fill(engine: AsyncEngine, orders: int, drivers: int) -> int:
    rng = random.Random(12)
    now = datetime.now(UTC)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        org = Organization(slug="bench", name="Bench")
        session.add(org)
        await session.flush()
        assert org.id is not None
        org_id = org.id
        conn = await session.connection()
        order_rows = [
            {"org_id": org_id, "status": OrderStatus.CREATED, "recipient_name": f"r{i}",
             "required_proofs": [], "required_skills": [], "created_at": now, "updated_at": now}
            for i in range(orders)
        ]  # fmt: skip
        ids = (await conn.execute(insert(Order).returning(col(Order.id)), order_rows)).scalars()
        stop_rows = [
            {"org_id": org_id, "order_id": order_id, "kind": StopKind.DROPOFF, "address": "-",
             "lat": lat, "lng": lng}
            for order_id in ids.all()
            for lat, lng in [anywhere(rng)]
        ]  # fmt: skip
        await conn.execute(insert(Stop), stop_rows)
        driver_rows = [
            {"org_id": org_id, "name": f"d{i}", "status": DriverStatus.EN_ROUTE, "created_at": now}
            for i in range(drivers)
        ]
        driver_ids = (
            (await conn.execute(insert(Driver).returning(col(Driver.id)), driver_rows))
            .scalars()
            .all()
        )
        fix_rows = [
            {"org_id": org_id, "driver_id": driver_id, "recorded_at": now - timedelta(seconds=k),
             "received_at": now, "lat": lat, "lng": lng}
            for driver_id in driver_ids
            for k in range(10)
            for lat, lng in [anywhere(rng)]
        ]  # fmt: skip
        await conn.execute(insert(LocationFix), fix_rows)
        await session.commit()
    async with engine.connect() as conn:
        await conn.exec_driver_sql("ANALYZE")
    return org_id


async def median_ms(
    engine: AsyncEngine, runs: int, call: Callable[[AsyncSession], Awaitable[Any]]
) -> tuple[float, Any]:
    times, answer = [], None
    for _ in range(runs + 1):  # the first one warms up
        async with AsyncSession(engine) as session:
            started = time.perf_counter()
            answer = await call(session)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[1:]), answer


def _in_zone(zone: Zone, path: SpatialPath) -> Callable[[AsyncSession], Awaitable[Any]]:
    return lambda session: orders_dropping_off_in(session, zone, path)


def _nearest(org_id: int, path: SpatialPath) -> Callable[[AsyncSession], Awaitable[Any]]:
    return lambda session: nearest_drivers(session, org_id, CENTRE, 10, path)


async def measure(url: str, orders: int, drivers: int, runs: int) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        if await spatial_path(engine) != "postgis":
            return {"skipped": "PostGIS is not installed for this PostgreSQL"}
        started = time.perf_counter()
        org_id = await fill(engine, orders, drivers)
        fill_s = time.perf_counter() - started
        figures: dict[str, Any] = {"orders": orders, "drivers": drivers, "fill_s": round(fill_s, 1)}
        print(f"{orders} orders, {drivers} drivers written in {fill_s:.1f} s\n")
        print(f"{'query':<36} {'held':>6} {'python ms':>10} {'postgis ms':>11}")
        for label, zone in zones().items():
            zone.org_id = org_id
            found: dict[str, Any] = {}
            for path in PATHS:
                ms, found[path] = await median_ms(engine, runs, _in_zone(zone, path))
                figures[f"{zone.kind.value}_{path}_ms"] = round(ms, 1)
            assert found["python"] == found["postgis"], f"{label}: the paths disagree"
            figures[f"{zone.kind.value}_held"] = len(found["python"])
            kind = zone.kind.value
            print(
                f"{label:<36} {len(found['python']):>6} {figures[f'{kind}_python_ms']:>10}"
                f" {figures[f'{kind}_postgis_ms']:>11}"
            )
        nearest: dict[str, Any] = {}
        for path in PATHS:
            ms, nearest[path] = await median_ms(engine, runs, _nearest(org_id, path))
            figures[f"nearest_{path}_ms"] = round(ms, 1)
        ranked = [[n.driver.driver_id for n in nearest[p]] for p in PATHS]
        assert ranked[0] == ranked[1], "nearest drivers: the paths disagree"
        print(
            f"{'10 nearest of ' + str(drivers) + ' drivers':<36} {10:>6}"
            f" {figures['nearest_python_ms']:>10} {figures['nearest_postgis_ms']:>11}"
        )
        return figures
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 orders, 200 drivers")
    parser.add_argument("--orders", type=int, default=None)
    parser.add_argument("--drivers", type=int, default=None)
    args = parser.parse_args()
    orders = args.orders or (10_000 if args.quick else 100_000)
    drivers = args.drivers or (200 if args.quick else 1_000)
    runs = 3 if args.quick else 7
    if not Path(POSTGRES_SERVER).exists():
        figures: dict[str, Any] = {"skipped": f"PostgreSQL not found at {POSTGRES_SERVER}"}
    else:
        with run_postgres() as server:
            url = server.create_database("bench")
            figures = asyncio.run(measure(url, orders, drivers, runs))
    if "skipped" in figures:
        print(figures["skipped"])
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
