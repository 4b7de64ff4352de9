"""The drivers nearest a point: PostGIS ranks them as Python does (same drivers, same
order, distances within a millimetre or so), and both rank every on-duty driver by their
newest fix."""

import asyncio
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.fleet.nearest import Nearby, nearest_drivers
from backend.models import Driver, LocationFix, Organization
from shared.enums import DriverStatus
from shared.geo import Point, haversine_m
from tests.backend.spatial.conftest import PostgisDb

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
M_PER_DEG = math.pi * 6_371_008.8 / 180


def close(a: float, b: float) -> bool:
    """Haversine and PostGIS's sphere (a radius 3 cm smaller) agree this closely."""
    return math.isclose(a, b, rel_tol=1e-7, abs_tol=1e-3)


@dataclass(frozen=True)
class DriverCase:
    status: DriverStatus
    fixes: list[tuple[float, float, float]]  # (lat, lng, seconds before NOW)


@dataclass(frozen=True)
class Fleet:
    drivers: list[DriverCase]
    point: Point
    limit: int


@st.composite
def fleets(draw: st.DrawFn) -> Fleet:
    city = Point(draw(st.floats(-60, 60)), draw(st.floats(-170, 170)))
    # Offsets from a small set too: drivers at one place, at mirrored places (ties).
    metres = st.one_of(st.floats(-30_000, 30_000), st.sampled_from([0.0, 250.0, -250.0]))

    def place() -> tuple[float, float]:
        north, east = draw(metres), draw(metres)
        return (
            city.lat + north / M_PER_DEG,
            city.lng + east / (M_PER_DEG * math.cos(math.radians(city.lat))),
        )

    drivers = []
    for _ in range(draw(st.integers(1, 20))):
        status = draw(st.sampled_from(list(DriverStatus)))  # one in five offline
        never_sent = draw(st.integers(0, 9)) == 0
        ages = (
            []
            if never_sent
            # whole milliseconds: distinct ages stay distinct once stored (microseconds)
            else [
                ms / 1000
                for ms in draw(
                    st.lists(st.integers(0, 86_400_000), min_size=1, max_size=3, unique=True)
                )
            ]
        )
        drivers.append(DriverCase(status, [(*place(), age) for age in ages]))
    on_a_driver: list[tuple[float, float]] = [f[:2] for d in drivers for f in d.fixes]
    at_a_driver: bool = draw(st.booleans())
    if on_a_driver and at_a_driver:
        point = Point(*draw(st.sampled_from(on_a_driver)))
    else:
        point = Point(*place())
    return Fleet(drivers, point, draw(st.integers(1, 10)))


def expected(fleet: Fleet, ids: list[int]) -> list[tuple[int, float]]:
    """By hand: each on-duty driver's newest fix, measured, nearest first (ties: lower id)."""
    seen = []
    for driver_id, case in zip(ids, fleet.drivers, strict=True):
        if case.status is DriverStatus.OFFLINE or not case.fixes:
            continue
        lat, lng, _ = min(case.fixes, key=lambda f: f[2])
        seen.append((haversine_m(fleet.point, Point(lat, lng)), driver_id))
    return [(driver_id, d) for d, driver_id in sorted(seen)[: fleet.limit]]


async def _org(engine: AsyncEngine) -> int:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        org = Organization(slug="spatial-fleet", name="Spatial")
        session.add(org)
        await session.commit()
        assert org.id is not None
        return org.id


async def _both_paths(
    engine: AsyncEngine, org_id: int, fleet: Fleet
) -> tuple[list[Nearby], list[Nearby], list[int]]:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        drivers = [
            Driver(org_id=org_id, name=f"d{i}", status=case.status)
            for i, case in enumerate(fleet.drivers)
        ]
        session.add_all(drivers)
        await session.flush()
        ids = [d.id for d in drivers if d.id is not None]
        for driver_id, case in zip(ids, fleet.drivers, strict=True):
            for lat, lng, age_s in case.fixes:
                at = NOW - timedelta(seconds=age_s)
                session.add(
                    LocationFix(org_id=org_id, driver_id=driver_id, recorded_at=at,
                                received_at=at, lat=lat, lng=lng)
                )  # fmt: skip
        await session.flush()
        python = await nearest_drivers(session, org_id, fleet.point, fleet.limit, "python")
        postgis = await nearest_drivers(session, org_id, fleet.point, fleet.limit, "postgis")
        await session.rollback()
    return python, postgis, ids


def assert_same_ranking(python: list[Nearby], postgis: list[Nearby]) -> None:
    """Same distances rank by rank; the same drivers in the same order, except that
    drivers at (nearly) equal distances may come in either order, and a tie at the cut-off
    may let either in."""
    assert len(postgis) == len(python)
    for a, b in zip(python, postgis, strict=True):
        assert close(a.distance_m, b.distance_m), (a, b)
    by_id = {n.driver.driver_id: n.distance_m for n in python}
    for n in postgis:
        if n.driver.driver_id in by_id:
            assert close(by_id[n.driver.driver_id], n.distance_m)
        else:  # only a driver tied with python's last one
            assert close(n.distance_m, python[-1].distance_m)
    for a, b in zip(python, postgis, strict=True):
        if a.driver.driver_id != b.driver.driver_id:
            assert close(a.distance_m, b.distance_m)


async def test_postgis_ranks_the_nearest_drivers_as_python_does(postgis_db: PostgisDb) -> None:
    org_id = await _org(postgis_db.engine)
    listed: list[int] = []

    @settings(
        max_examples=60,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(fleet=fleets())
    def check(fleet: Fleet) -> None:
        python, postgis, ids = postgis_db.run(_both_paths(postgis_db.engine, org_id, fleet))
        assert [(n.driver.driver_id, n.distance_m) for n in python] == expected(fleet, ids)
        assert_same_ranking(python, postgis)
        for n in postgis:
            assert n.driver.recorded_at == NOW - timedelta(
                seconds=min(f[2] for f in fleet.drivers[ids.index(n.driver.driver_id)].fixes)
            )
        listed.append(len(python))

    await asyncio.to_thread(check)
    assert sum(1 for n in listed if n > 1) > len(listed) // 4  # not all empty fleets
