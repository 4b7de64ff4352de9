"""Which orders drop off inside a zone.

A zone holds a dropoff inside its polygon or on the polygon's border, or within half its
width of a corridor's line, measured as the live geofences measure (each shape in its own
flat projection, :mod:`backend.geofencing.shapes`). "On the border" is within ``BORDER_M``:
a point drawn on an edge lands a hair to either side of it in floating point.

Two paths, the same answers (``tests/backend/spatial`` checks them against each other):

* Python (SQLite; PostgreSQL without PostGIS): a bounding-box prefilter in SQL, then the
  exact test in Python on the rows that pass it.
* PostGIS: the same prefilter and the exact test in SQL, so only the matching ids come
  back: the stop is projected into the shape's plane by the same arithmetic as in Python
  (IEEE doubles on both sides) and ``ST_DWithin`` measures it against the shape there.
"""

from typing import Any

from sqlalchemy import ColumnElement, LargeBinary, func, literal
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.geofencing.org_fences import OrgZone, zone_shape
from backend.geofencing.shapes import M_PER_DEG_LAT, Corridor, Polygon, Shape, as_points
from backend.models import Stop, Zone
from backend.spatial import wkb
from backend.spatial.postgis import SpatialPath
from shared.enums import StopKind

BORDER_M = 0.001  # a dropoff this close to a polygon's border or a corridor's edge is in


def _org_zone(zone: Zone) -> OrgZone:
    assert zone.id is not None
    return OrgZone(
        zone_id=zone.id,
        org_id=zone.org_id,
        name=zone.name,
        kind=zone.kind,
        points=as_points(zone.points),
        width_m=zone.width_m,
    )


def holds(shape: Shape, lat: float, lng: float) -> bool:
    """Whether a zone of ``shape`` holds a dropoff at ``lat``, ``lng`` (the Python path)."""
    return not shape.beyond(lat, lng, BORDER_M)


def _holds_in_sql(shape: Shape) -> ColumnElement[Any]:
    """:func:`holds` as a PostGIS condition on the ``stops`` row."""
    if isinstance(shape, Polygon):
        geometry, reach_m = wkb.polygon(shape.ring_xy), BORDER_M
    elif isinstance(shape, Corridor):
        geometry, reach_m = wkb.linestring(shape.line_xy), shape.half_width_m + BORDER_M
    else:
        raise TypeError(f"a zone is a polygon or a corridor, not {type(shape).__name__}")
    plane = shape.plane
    x = (col(Stop.lng) - plane.origin.lng) * plane.m_per_deg_lng
    y = (col(Stop.lat) - plane.origin.lat) * M_PER_DEG_LAT
    where: ColumnElement[Any] = func.ST_DWithin(
        func.ST_GeomFromWKB(literal(geometry, LargeBinary)), func.ST_MakePoint(x, y), reach_m
    )
    return where


async def orders_dropping_off_in(
    session: AsyncSession, zone: Zone, path: SpatialPath = "python"
) -> list[int]:
    """The ids, ascending, of the zone's organisation's orders whose dropoff the zone holds
    (see the module's docstring), found in Python or in PostGIS (``path``)."""
    shape = zone_shape(_org_zone(zone))
    box = shape.bbox(BORDER_M)
    in_box = (
        Stop.org_id == zone.org_id,
        Stop.kind == StopKind.DROPOFF,
        col(Stop.lat).between(box.min_lat, box.max_lat),
        col(Stop.lng).between(box.min_lng, box.max_lng),
    )
    if path == "postgis":
        # The same box once more, for the GiST index of migration 0020 (its float4 boxes
        # round outward: a prefilter only; the exact one above stays).
        indexed = func.ST_MakePoint(col(Stop.lng), col(Stop.lat)).op("&&")(
            func.ST_MakeEnvelope(box.min_lng, box.min_lat, box.max_lng, box.max_lat)
        )
        query = select(Stop.order_id).where(*in_box, indexed, _holds_in_sql(shape))
        found = await session.exec(query)
        return sorted(set(found.all()))
    rows = await session.exec(select(Stop.order_id, Stop.lat, Stop.lng).where(*in_box))
    return sorted({order_id for order_id, lat, lng in rows.all() if holds(shape, lat, lng)})
