"""The simulator on Monaco's real road network (embedded OSRM), and ``lastmile simulate``."""

import asyncio
import itertools
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import col, select

from backend.auth.principal import Principal
from backend.db import create_engine, session_scope
from backend.fleet.routes_service import create_route
from backend.models import Organization, Stop
from backend.regions.importer import import_region
from backend.routing.router import RoadRouter, create_routing
from backend.simulator.runner import DriverPlan, PlannedStop, SimulationConfig, simulate_all
from shared.enums import Role
from shared.geo import Point
from shared.schemas.fleet import RouteCreate, RouteStopIn
from tests.backend.test_cli import run_cli
from tests.conftest import make_settings

REPO = Path(__file__).resolve().parents[3]
DEPOT = Point(43.7347, 7.4206)  # Port Hercule, as in the demo seed
STOPS = [
    Point(43.72956, 7.41337),
    Point(43.73077, 7.41546),
    Point(43.7398, 7.4270),
    Point(43.7465, 7.4331),
]


@pytest.fixture(scope="module")
def regions_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("sim-data")
    import_region(REPO / "regions" / "monaco.osm.pbf", data_dir / "regions")
    return data_dir


@pytest.fixture(scope="module")
def routing(regions_dir: Path) -> RoadRouter:
    router = create_routing(make_settings(regions_dir))
    assert router is not None
    return router


def _to_segment_m(p: Point, a: Point, b: Point) -> float:
    k = math.cos(math.radians(a.lat))
    ax, ay, bx, by, px, py = a.lng * k, a.lat, b.lng * k, b.lat, p.lng * k, p.lat
    dx, dy = bx - ax, by - ay
    span = dx * dx + dy * dy
    t = 0.0 if span == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / span))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy)) * 111_195.0


def test_fixes_follow_the_real_roads(routing: RoadRouter) -> None:
    plan = DriverPlan(
        driver_id=1,
        start=DEPOT,
        stops=tuple(PlannedStop(p, 120.0) for p in STOPS),
        start_at=datetime(2025, 6, 2, 8, 0, tzinfo=UTC),
        end=DEPOT,
    )
    run = simulate_all([plan], routing, SimulationConfig(seed=4))[0]
    assert not run.route.estimated
    geometry = run.route.geometry
    assert len(geometry) > 20  # streets, not straight lines
    segments = list(itertools.pairwise(geometry))
    for simulated in run.fixes:
        true_off = min(_to_segment_m(simulated.true_point, a, b) for a, b in segments)
        assert true_off < 0.5
        if simulated.outlier:
            continue
        seen = Point(simulated.fix.lat, simulated.fix.lng)
        assert min(_to_segment_m(seen, a, b) for a, b in segments) < 50.0
    # On time within the noise: the engine's duration plus service, give or take.
    expected_s = run.route.duration_s + 120.0 * len(STOPS)
    assert 0.7 * expected_s <= run.trajectory.duration_s <= 1.6 * expected_s
    assert float(run.trajectory.segment_speeds_mps.max()) <= 36.0


async def _route_two_drivers(data_dir: Path) -> None:
    """Six of the demo's orders on a route each for drivers 1 and 2 (the seed leaves the
    planning to ``lastmile demo``'s optimiser)."""
    settings = make_settings(data_dir)
    engine = create_engine(settings.resolved_database_url)
    try:
        async with session_scope(engine) as session:
            org = (
                await session.exec(select(Organization).where(Organization.slug == "demo"))
            ).one()
            assert org.id is not None
            stops = (await session.exec(select(Stop).order_by(col(Stop.id)).limit(12))).all()
            admin = Principal(1, org.id, Role.ADMIN, None)
            for n, driver_id in enumerate((1, 2)):
                mine = stops[n * 6 : n * 6 + 6]
                await create_route(
                    session,
                    admin,
                    RouteCreate(
                        driver_id=driver_id,
                        service_date=datetime.now(UTC).date(),
                        stops=[RouteStopIn(stop_id=s.id or 0) for s in mine],
                    ),
                )
    finally:
        await engine.dispose()


def test_lastmile_simulate_writes_the_demo_day(regions_dir: Path) -> None:
    assert run_cli(regions_dir, "seed-demo").returncode == 0
    asyncio.run(_route_two_drivers(regions_dir))
    out = regions_dir / "fixes.jsonl"
    done = run_cli(regions_dir, "simulate", "--speed", "0", "--seed", "3", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("stops,") == 2  # one progress line per driver with a route
    assert "(estimated)" not in done.stdout
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert {line["driver_id"] for line in lines} == {1, 2}
    assert f"wrote {len(lines)} fixes" in done.stdout
    again = run_cli(regions_dir, "simulate", "--speed", "0", "--seed", "3", "--out", str(out))
    assert again.returncode == 0
    assert [json.loads(line) for line in out.read_text().splitlines()] == lines
