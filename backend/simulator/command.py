"""``lastmile simulate``: the day's planned routes, driven by virtual drivers.

Reads routes, stops, drivers, vehicles and depots (read-only), builds one plan per driver
(from the depot of the driver's vehicle when there is one, back to it at the end), routes
them with the configured routing, and plays the fixes into a JSON-lines file. When the
ingest endpoint exists (issue 4) an HTTP sink takes the file's place.
"""

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from rich.console import Console
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.db import create_engine, session_scope
from backend.models import Depot, Driver, Route, Stop, Vehicle
from backend.routing.port import RouteSource, RoutingError
from backend.simulator.gps import GpsConfig
from backend.simulator.runner import (
    DriverPlan,
    DriverRun,
    PlannedStop,
    Simulation,
    SimulationConfig,
)
from backend.simulator.sinks import JsonlSink
from shared.geo import Point

DEFAULT_START = time(8, 0)  # UTC, when neither the route nor its stops say when to leave
LEAVE_BEFORE_FIRST_STOP = timedelta(minutes=10)


def _start_at(route: Route, stops: Sequence[Stop], day: date) -> datetime:
    if route.planned_start_at is not None:
        return route.planned_start_at
    planned = [s.planned_arrival_at or s.window_start for s in stops]
    known = [t for t in planned if t is not None]
    if known:
        return min(known) - LEAVE_BEFORE_FIRST_STOP
    return datetime.combine(day, DEFAULT_START, tzinfo=UTC)


async def _depot_of(session: AsyncSession, vehicle_id: int | None) -> Point | None:
    vehicle = await session.get(Vehicle, vehicle_id) if vehicle_id is not None else None
    depot = await session.get(Depot, vehicle.depot_id) if vehicle and vehicle.depot_id else None
    return Point(depot.lat, depot.lng) if depot else None


async def load_plans(session: AsyncSession, day: date) -> tuple[list[DriverPlan], list[str]]:
    """One plan per driver with a route on ``day`` (their first one); notes on what was skipped."""
    routes = (
        await session.exec(select(Route).where(Route.service_date == day).order_by(col(Route.id)))
    ).all()
    plans: list[DriverPlan] = []
    notes: list[str] = []
    seen: set[int] = set()
    for route in routes:
        stops = (
            await session.exec(
                select(Stop).where(Stop.route_id == route.id).order_by(col(Stop.sequence))
            )
        ).all()
        if route.driver_id in seen:
            notes.append(f"route {route.id}: driver {route.driver_id} already simulated; skipped")
            continue
        if not stops:
            notes.append(f"route {route.id}: no stops; skipped")
            continue
        driver = await session.get(Driver, route.driver_id)
        vehicle_id = route.vehicle_id or (driver.vehicle_id if driver else None)
        depot = await _depot_of(session, vehicle_id)
        planned = tuple(PlannedStop(Point(s.lat, s.lng), float(s.service_time_s)) for s in stops)
        plans.append(
            DriverPlan(
                driver_id=route.driver_id,
                start=depot or planned[0].point,
                stops=planned,
                start_at=_start_at(route, stops, day),
                end=depot,
            )
        )
        seen.add(route.driver_id)
    return plans, notes


async def read_plans(settings: Settings, day: date) -> tuple[list[DriverPlan], list[str]]:
    engine = create_engine(settings.resolved_database_url)
    try:
        async with session_scope(engine) as session:
            return await load_plans(session, day)
    finally:
        await engine.dispose()


def rebase(plans: Sequence[DriverPlan], first_start_at: datetime) -> list[DriverPlan]:
    """The same plans shifted in time so the earliest starts at ``first_start_at``."""
    if not plans:
        return []
    shift = first_start_at - min(p.start_at for p in plans)
    return [DriverPlan(p.driver_id, p.start, p.stops, p.start_at + shift, p.end) for p in plans]


def describe(run: DriverRun) -> str:
    """One progress line: what the driver will do, and what the phone will send."""
    t = run.trajectory
    return (
        f"driver {run.plan.driver_id}: {len(run.plan.stops)} stops, "
        f"{run.route.distance_m / 1000:.1f} km{' (estimated)' if run.route.estimated else ''}, "
        f"{t.start_at:%H:%M}-{t.end_at:%H:%M} UTC, {len(run.fixes)} fixes "
        f"({run.outliers} outliers)"
    )


async def simulate_day(
    plans: Sequence[DriverPlan],
    routing: RouteSource,
    out: Path,
    *,
    seed: int,
    speed: float,
    interval_s: float,
    on_driver: Callable[[DriverRun], None] | None = None,
) -> int:
    """Play ``plans`` into ``out`` (appending); returns the number of fixes written."""
    sink = JsonlSink(out)
    config = SimulationConfig(seed=seed, gps=GpsConfig(interval_s=interval_s))
    simulation = Simulation(
        plans, routing, sink, config, speed=speed, upload_every_s=max(15.0, interval_s)
    )
    await simulation.run(on_driver)
    return sink.count


def run_simulate(
    console: Console,
    speed: float,
    seed: int,
    interval_s: float,
    out: Path | None,
    day: str | None,
    now: bool,
) -> int:
    """The body of ``lastmile simulate``; returns the exit code."""
    from backend.routing.startup import load_routing

    settings = Settings()
    try:
        service_date = date.fromisoformat(day) if day else datetime.now(UTC).date()
    except ValueError:
        console.print(f"[red]error:[/red] --date must be YYYY-MM-DD, not {day!r}")
        return 1
    if speed < 0 or interval_s <= 0:
        console.print("[red]error:[/red] --speed must be >= 0 and --interval-s > 0")
        return 1
    plans, notes = asyncio.run(read_plans(settings, service_date))
    for note in notes:
        console.print(note, highlight=False)
    if not plans:
        console.print(f"no routes with stops on {service_date}; nothing to simulate")
        return 0
    if now:
        plans = rebase(plans, datetime.now(UTC))
    target = out or settings.data_dir / "simulation.jsonl"
    routing = load_routing(settings)
    target.unlink(missing_ok=True)
    console.print(
        f"simulating {len(plans)} drivers on {service_date} at {speed:g}x, seed {seed}, "
        f"fixes every {interval_s:g} s into {target}",
        highlight=False,
        soft_wrap=True,
    )
    try:
        count = asyncio.run(
            simulate_day(
                plans,
                routing,
                target,
                seed=seed,
                speed=speed,
                interval_s=interval_s,
                on_driver=lambda run: console.print(describe(run), highlight=False),
            )
        )
    except RoutingError as exc:
        console.print(f"[red]error:[/red] routing failed: {exc}")
        return 1
    console.print(f"wrote {count} fixes to {target}", highlight=False, soft_wrap=True)
    return 0
