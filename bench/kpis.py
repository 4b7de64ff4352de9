"""The KPI queries on a year of a mid-size operation, on SQLite (issue 11).

    .venv/bin/python bench/kpis.py [--quick] [--drivers N] [--stops N] [--days N]

A fresh database, migrated, filled straight through SQLite (one ``executemany`` per table,
in the tables' own columns and formats): an organisation whose ``--drivers`` drivers (20)
each drive a published route of ``--stops`` drop-offs (120) every day for ``--days`` days
(365), in Europe/Paris. Every order has a drop-off in one of six two-hour windows from
08:00 (one in ten has none), three events (created, assigned, then delivered or, one in
twenty, failed) and planned and recorded arrivals; the last 30 days have the drivers' GPS
fixes (one per 2 minutes). ``--without-indexes`` drops migration 0018's index first, to
compare. Then each KPI is timed through its service function, over the
last day, the last 30 days and the whole year (the day report: at most 92 days), as the
median of a few runs.

Prints the rows written, how long filling took, a table of median milliseconds; last
line JSON."""

import argparse
import asyncio
import itertools
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine as sa_engine
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.db import create_engine
from backend.kpis.breakdown_service import driver_report, window_report
from backend.kpis.figures import MAX_BREAKDOWN_DAYS, Days, local_days
from backend.kpis.service import report
from backend.models import Driver, Organization, User
from backend.routing.results import Route as RoadRoute
from bench._backend import migrated
from shared.enums import Role
from shared.geo import Point, haversine_m

TZ_NAME = "Europe/Paris"
TZ = ZoneInfo(TZ_NAME)
LAST_DAY = date(2026, 11, 30)
SLOTS = [(8 + 2 * k, 10 + 2 * k) for k in range(6)]  # local hours
FIX_DAYS = 30
KPI_INDEXES = ("ix_order_events_org_at",)


def ts(at: datetime) -> str:
    """How SQLAlchemy stores a UTC time in SQLite (naive, microseconds)."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def local(day: date, minutes: float) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=TZ) + timedelta(minutes=minutes)


def people(path: str, drivers: int) -> None:
    """The organisation, its drivers and their users, through the models (ids from 1)."""
    engine = sa_engine(f"sqlite:///{path}")
    try:
        with Session(engine) as session:
            session.add(Organization(id=1, slug="bench", name="Bench"))
            for k in range(drivers):
                name = f"Driver {k:02d}"
                session.add(
                    User(
                        id=k + 1,
                        org_id=1,
                        email=f"d{k}@bench.test",
                        full_name=name,
                        role=Role.DRIVER,
                        password_hash="x",
                    )
                )
                session.flush()
                session.add(Driver(id=k + 1, org_id=1, user_id=k + 1, name=name))
            session.commit()
    finally:
        engine.dispose()


def fill(
    path: str, drivers: int, stops: int, days: int, drop: tuple[str, ...], seed: int = 7
) -> dict[str, int]:
    """Write the operation's history into the migrated database at ``path`` (without the
    indexes named in ``drop``)."""
    rng = random.Random(seed)
    db = sqlite3.connect(path)
    for index in drop:
        db.execute(f"DROP INDEX {index}")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    now = ts(datetime.now(UTC))
    people(path, drivers)
    counts = {"orders": 0, "order_events": 0, "stops": 0, "routes": 0, "location_fixes": 0}
    order_id = 0
    route_id = 0
    first_day = LAST_DAY - timedelta(days=days - 1)
    for i in range(days):
        day = first_day + timedelta(days=i)
        orders, stop_rows, events, routes, fixes = [], [], [], [], []
        for k in range(drivers):
            route_id += 1
            start = local(day, 8 * 60)
            routes.append(
                (route_id, 1, k + 1, day.isoformat(), "published", ts(start), ts(start), now)
            )
            drift = 0.0
            for s in range(stops):
                order_id += 1
                planned = local(day, 8 * 60 + s * 600 / stops)  # 10 hours of stops
                drift = max(-20.0, drift + rng.gauss(0.1, 1.5))  # minutes, wandering
                arrived = planned + timedelta(minutes=drift)
                done = arrived + timedelta(minutes=2)
                failed = rng.random() < 0.05
                slot = SLOTS[min(5, s * 6 // stops)]
                window = (
                    (ts(local(day, slot[0] * 60)), ts(local(day, slot[1] * 60)))
                    if rng.random() >= 0.1
                    else (None, None)
                )
                status = "failed" if failed else "delivered"
                created = ts(local(day, -6 * 60))
                orders.append(
                    (order_id, 1, status, "Rita", 0.0, 0.0, 0, "[]", "[]", "", "", created, now)
                )
                lat, lng = 43.70 + rng.random() * 0.06, 7.25 + rng.random() * 0.2
                stop_rows.append(
                    (
                        order_id,
                        1,
                        order_id,
                        "dropoff",
                        "address",
                        lat,
                        lng,
                        *window,
                        120,
                        route_id,
                        s,
                        ts(planned),
                        ts(arrived),
                        ts(done),
                    )
                )
                user = k + 1
                events += [
                    (1, order_id, "created", None, "created", None, None, created),
                    (1, order_id, "status_changed", "created", "assigned", None, None, created),
                    (1, order_id, "status_changed", "en_route", status, user, "driver", ts(done)),
                ]
            if i >= days - FIX_DAYS:
                for m in range(0, 10 * 60 + 30, 2):
                    at = ts(local(day, 7 * 60 + 45 + m))
                    point = (43.70 + m * 1e-4, 7.25 + k * 1e-3)
                    fixes.append((1, k + 1, at, at, *point))
        db.executemany(
            "INSERT INTO routes (id, org_id, driver_id, service_date, status, planned_start_at,"
            " actual_start_at, created_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
            [(r[0], r[1], r[2], r[3], r[4], r[5], r[7]) for r in routes],
        )
        db.executemany(
            "INSERT INTO orders (id, org_id, status, recipient_name, weight_kg, volume_m3,"
            " priority, required_proofs, required_skills, notes, instructions, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            orders,
        )
        db.executemany(
            "INSERT INTO stops (id, org_id, order_id, kind, address, lat, lng, window_start,"
            " window_end, service_time_s, route_id, sequence, planned_arrival_at,"
            " actual_arrival_at, actual_departure_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            stop_rows,
        )
        db.executemany(
            "INSERT INTO order_events (org_id, order_id, kind, from_status, to_status,"
            " actor_user_id, actor_role, at, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}')",
            events,
        )
        db.executemany(
            "INSERT INTO location_fixes (org_id, driver_id, recorded_at, received_at, lat, lng,"
            " source) VALUES (?, ?, ?, ?, ?, ?, 'app')",
            fixes,
        )
        counts["orders"] += len(orders)
        counts["stops"] += len(stop_rows)
        counts["order_events"] += len(events)
        counts["routes"] += len(routes)
        counts["location_fixes"] += len(fixes)
    db.commit()
    db.execute("ANALYZE")
    db.close()
    return counts


def straight_line(points: list[Point]) -> RoadRoute:
    """The road router's stand-in: the KPI report asks it for each route's distance."""
    legs = [haversine_m(a, b) for a, b in itertools.pairwise(points)]
    return RoadRoute(sum(legs) / 10, sum(legs), points, [m / 10 for m in legs], legs, True)


async def timed(run: Callable[[], Awaitable[Any]], repeats: int) -> float:
    """Median milliseconds of ``repeats`` runs (after one to warm the caches)."""
    await run()
    found = []
    for _ in range(repeats):
        started = time.perf_counter()
        await run()
        found.append((time.perf_counter() - started) * 1000)
    return statistics.median(found)


async def measure(url: str, repeats: int, days: int) -> dict[str, dict[str, float]]:
    engine = create_engine(url)
    ranges = {"1d": 1, "30d": min(30, days), "365d": days}
    figures: dict[str, dict[str, float]] = {}

    def through(
        call: Callable[[AsyncSession, Days], Awaitable[Any]], days: Days
    ) -> Callable[[], Awaitable[Any]]:
        async def run() -> Any:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                return await call(session, days)

        return run

    async def day_report(session: AsyncSession, days: Days) -> Any:
        return await report(session, 1, days, TZ, TZ_NAME, straight_line)

    async def drivers(session: AsyncSession, days: Days) -> Any:
        return await driver_report(session, 1, days, TZ, TZ_NAME)

    async def windows(session: AsyncSession, days: Days) -> Any:
        return await window_report(session, 1, days, TZ, TZ_NAME)

    try:
        for label, length in ranges.items():
            first = LAST_DAY - timedelta(days=length - 1)
            wide = local_days(first, LAST_DAY, TZ, MAX_BREAKDOWN_DAYS)
            narrow = local_days(max(first, LAST_DAY - timedelta(days=91)), LAST_DAY, TZ)
            row = {
                "report": await timed(through(day_report, narrow), repeats),
                "drivers": await timed(through(drivers, wide), repeats),
                "windows": await timed(through(windows, wide), repeats),
            }
            figures[label] = {k: round(v, 1) for k, v in row.items()}
            print(
                f"{label:>5}: report {row['report']:8.1f} ms"
                f" ({len(narrow.days)} days)   drivers {row['drivers']:8.1f} ms"
                f"   windows {row['windows']:8.1f} ms",
                flush=True,
            )
    finally:
        await engine.dispose()
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 drivers x 20 stops x 40 days")
    parser.add_argument("--drivers", type=int, default=20)
    parser.add_argument("--stops", type=int, default=120)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--without-indexes",
        action="store_true",
        help=f"drop the KPI indexes (migration 0018: {', '.join(KPI_INDEXES)}) to compare",
    )
    args = parser.parse_args()
    if args.quick:
        args.drivers, args.stops, args.days, args.repeats = 3, 20, 40, 1
    data = await migrated("lastmile-bench-kpis-", "bench-secret-key-that-is-long-enough")
    try:
        started = time.perf_counter()
        path = str(data.path / "lastmile.db")
        drop = KPI_INDEXES if args.without_indexes else ()
        counts = await asyncio.to_thread(fill, path, args.drivers, args.stops, args.days, drop)
        fill_s = time.perf_counter() - started
        size_mb = await asyncio.to_thread(os.path.getsize, path) / 1e6
        print(
            f"{args.drivers} drivers x {args.stops} stops x {args.days} days in {TZ_NAME}: "
            + ", ".join(f"{n:,} {table}" for table, n in counts.items())
            + f"; filled in {fill_s:.0f} s, {size_mb:.0f} MB"
            + ("; without the KPI indexes" if args.without_indexes else ""),
            flush=True,
        )
        print("median ms (the day report covers at most the last 92 days):", flush=True)
        figures = await measure(data.database_url, args.repeats, args.days)
    finally:
        await asyncio.to_thread(shutil.rmtree, data.path, True)
    print(
        json.dumps(
            {
                "drivers": args.drivers,
                "stops_per_day": args.stops,
                "days": args.days,
                "kpi_indexes": not args.without_indexes,
                "rows": counts,
                "fill_s": round(fill_s, 1),
                "db_mb": round(size_mb, 1),
                "median_ms": figures,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
