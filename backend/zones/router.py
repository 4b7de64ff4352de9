"""``/api/v1/zones``: the polygons and corridors of the organisation (read: staff; draw,
change, remove: admins). A change reaches the live geofences before the answer."""

from typing import Annotated

from fastapi import APIRouter, Query

from backend.crud import get_in_org
from backend.deps import AdminUser, SessionDep, StaffUser, StateDep
from backend.models import Zone
from backend.responses import ERRORS
from backend.zones import service
from backend.zones.live_reload import reload_fences_after_commit
from shared.enums import ZoneKind
from shared.schemas.common import Page
from shared.schemas.zones import ZoneCreate, ZoneOut, ZoneUpdate

router = APIRouter(prefix="/zones", tags=["zones"])


@router.get("", response_model=Page[ZoneOut], responses=ERRORS(401, 403, 422))
async def list_zones(
    principal: StaffUser,
    session: SessionDep,
    kind: ZoneKind | None = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[ZoneOut]:
    """The organisation's zones and corridors, optionally of one kind or activity."""
    rows, total = await service.list_zones(
        session, principal.org_id, kind=kind, active=active, limit=limit, offset=offset
    )
    return Page[ZoneOut](
        items=[ZoneOut.model_validate(z) for z in rows], total=total, limit=limit, offset=offset
    )


@router.post("", response_model=ZoneOut, status_code=201, responses=ERRORS(401, 403, 422))
async def create_zone(
    body: ZoneCreate, admin: AdminUser, session: SessionDep, state: StateDep
) -> Zone:
    """Draw a zone (``zone``, ``restricted``: a polygon of 3-1000 points that does not cross
    itself) or a ``corridor`` (a line of 2-1000 points and a width of 10-5000 m). Drivers
    of the organisation entering and leaving an active one are logged as driver events."""
    zone = await service.create_zone(session, admin.org_id, body)
    reload_fences_after_commit(session, state, admin.org_id)
    return zone


@router.get("/{zone_id}", response_model=ZoneOut, responses=ERRORS(401, 403, 404))
async def get_zone(zone_id: int, principal: StaffUser, session: SessionDep) -> Zone:
    """One zone of the organisation."""
    return await get_in_org(session, Zone, zone_id, principal.org_id, label="zone")


@router.patch("/{zone_id}", response_model=ZoneOut, responses=ERRORS(401, 403, 404, 422))
async def update_zone(
    zone_id: int, body: ZoneUpdate, admin: AdminUser, session: SessionDep, state: StateDep
) -> Zone:
    """Rename, redraw, switch on or off, or change the dwell time of a zone; the result is
    checked as a whole (e.g. a new kind against the stored points)."""
    zone = await get_in_org(session, Zone, zone_id, admin.org_id, label="zone")
    zone = await service.update_zone(session, zone, body)
    reload_fences_after_commit(session, state, admin.org_id)
    return zone


@router.delete("/{zone_id}", status_code=204, responses=ERRORS(401, 403, 404))
async def delete_zone(zone_id: int, admin: AdminUser, session: SessionDep, state: StateDep) -> None:
    """Remove a zone; its driver events stay (they name it). A driver inside it is simply
    no longer in it: no exit is logged."""
    zone = await get_in_org(session, Zone, zone_id, admin.org_id, label="zone")
    await service.delete_zone(session, zone)
    reload_fences_after_commit(session, state, admin.org_id)
