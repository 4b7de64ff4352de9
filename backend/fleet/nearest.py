"""On-duty drivers nearest to a point, by straight-line distance from where they were last
seen.

Where a driver is: their newest stored fix (``location_fixes``). A fix is acknowledged to
the phone only once it is committed there, so the table is never behind what any worker's
in-memory position holds, and it is the one place every worker (Redis or not) and both
paths below read the same rows from. "On duty": any status but offline.

Two paths, the same answers (``tests/backend/spatial`` checks them against each other):

* Python: every on-duty driver's last fix is read and ranked by :func:`rank_nearest`
  (haversine on the mean Earth sphere).
* PostGIS: the ranking is done in SQL (``ST_Distance`` on geography, on the sphere, not the
  spheroid, to measure as haversine does) and only ``limit`` rows come back. The distance
  is from each driver's newest fix, picked per driver, so a KNN index has nothing to serve.
"""

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import aliased
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Driver, LocationFix
from backend.spatial.postgis import SpatialPath
from shared.enums import DriverStatus
from shared.geo import Point, haversine_m

WGS84 = 4326


@dataclass(frozen=True, slots=True)
class LastSeen:
    driver_id: int
    name: str
    status: DriverStatus
    lat: float
    lng: float
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Nearby:
    driver: LastSeen
    distance_m: float


def rank_nearest(point: Point, drivers: Iterable[LastSeen], limit: int) -> list[Nearby]:
    """The ``limit`` drivers nearest ``point``, nearest first (ties: lower driver id)."""
    measured = (Nearby(d, haversine_m(point, Point(d.lat, d.lng))) for d in drivers)
    return heapq.nsmallest(limit, measured, key=lambda n: (n.distance_m, n.driver.driver_id))


def _last_seen(org_id: int) -> Select[*tuple[Any, ...]]:
    """Each on-duty driver of the organisation with their newest stored fix."""
    newer = aliased(LocationFix)
    newest_id = (
        select(col(newer.id))
        .where(col(newer.driver_id) == col(Driver.id))
        .order_by(col(newer.recorded_at).desc(), col(newer.id).desc())
        .limit(1)
        .correlate(Driver)
        .scalar_subquery()
    )
    query: Select[*tuple[Any, ...]] = (
        select(
            col(Driver.id),
            col(Driver.name),
            col(Driver.status),
            col(LocationFix.lat),
            col(LocationFix.lng),
            col(LocationFix.recorded_at),
        )
        .join(LocationFix, col(LocationFix.id) == newest_id)
        .where(col(Driver.org_id) == org_id, col(Driver.status) != DriverStatus.OFFLINE)
    )
    return query


def _geography(lat: Any, lng: Any) -> ColumnElement[Any]:
    at: ColumnElement[Any] = func.geography(func.ST_SetSRID(func.ST_MakePoint(lng, lat), WGS84))
    return at


async def nearest_drivers(
    session: AsyncSession, org_id: int, point: Point, limit: int, path: SpatialPath = "python"
) -> list[Nearby]:
    """The organisation's ``limit`` on-duty drivers nearest ``point`` (see the module's
    docstring), nearest first, ranked in Python or in PostGIS (``path``)."""
    query = _last_seen(org_id)
    connection = await session.connection()
    if path == "python":
        rows = (await connection.execute(query)).all()
        return rank_nearest(point, (LastSeen(*row) for row in rows), limit)
    distance = func.ST_Distance(
        _geography(LocationFix.lat, LocationFix.lng), _geography(point.lat, point.lng), False
    )
    ranked = query.add_columns(distance).order_by(distance, col(Driver.id)).limit(limit)
    rows = (await connection.execute(ranked)).all()
    return [Nearby(LastSeen(*row[:6]), float(row[6])) for row in rows]
