"""Load organisations' active zones and their depots, for their fences."""

from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from backend.geofencing.org_fences import OrgDepot, OrgPlaces, OrgZone
from backend.models import Depot, Zone
from backend.sql_lists import padded
from shared.enums import ZoneKind
from shared.geo import Point

_CHUNK = 500  # organisations per IN (...) list
# Built once, the ids bound at each call: ``in_()`` over a list clones its bind parameter
# into a reference cycle, and the fences reload every few seconds (``backend/heap.py``).
_ZONES = (
    select(
        col(Zone.id),
        col(Zone.org_id),
        col(Zone.name),
        col(Zone.kind),
        col(Zone.points),
        col(Zone.width_m),
        col(Zone.dwell_s),
    )
    .where(col(Zone.org_id).in_(bindparam("ids", expanding=True)), col(Zone.active))
    .order_by(col(Zone.id))
)
_DEPOTS = (
    select(col(Depot.id), col(Depot.org_id), col(Depot.lat), col(Depot.lng))
    .where(col(Depot.org_id).in_(bindparam("ids", expanding=True)))
    .order_by(col(Depot.id))
)


async def load_org_places(engine: AsyncEngine, org_ids: Iterable[int]) -> dict[int, OrgPlaces]:
    """Each of ``org_ids`` with its active zones and its depots (empty lists: none)."""
    ids = sorted(set(org_ids))
    out = {org_id: OrgPlaces() for org_id in ids}
    async with engine.connect() as conn:
        for start in range(0, len(ids), _CHUNK):
            chunk = padded(ids[start : start + _CHUNK])
            zones = await conn.execute(_ZONES, {"ids": chunk})
            for zone_id, org_id, name, kind, points, width_m, dwell_s in zones.all():
                assert zone_id is not None
                out[org_id].zones.append(
                    OrgZone(
                        zone_id,
                        org_id,
                        name,
                        ZoneKind(kind),
                        tuple(Point(float(lat), float(lng)) for lat, lng in points),
                        width_m,
                        dwell_s,
                    )
                )
            depots = await conn.execute(_DEPOTS, {"ids": chunk})
            for depot_id, org_id, lat, lng in depots.all():
                assert depot_id is not None
                out[org_id].depots.append(OrgDepot(depot_id, org_id, lat, lng))
    return out
