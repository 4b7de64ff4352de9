from typing import Annotated

from fastapi import APIRouter, Query

from backend.crud import get_in_org, page
from backend.deps import AdminUser, SessionDep, StaffUser, StateDep
from backend.models import Depot
from backend.responses import ERRORS
from backend.zones.live_reload import reload_fences_after_commit
from shared.schemas.common import Page
from shared.schemas.fleet import DepotCreate, DepotOut

router = APIRouter(prefix="/depots", tags=["depots"])


@router.get("", response_model=Page[DepotOut], responses=ERRORS(401, 403, 422))
async def list_depots(
    principal: StaffUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[DepotOut]:
    """The organisation's depots."""
    rows, total = await page(
        session, Depot, [Depot.org_id == principal.org_id], limit=limit, offset=offset
    )
    return Page[DepotOut](
        items=[DepotOut.model_validate(d) for d in rows], total=total, limit=limit, offset=offset
    )


@router.post("", response_model=DepotOut, status_code=201, responses=ERRORS(401, 403, 422))
async def create_depot(
    body: DepotCreate, admin: AdminUser, session: SessionDep, state: StateDep
) -> Depot:
    """Add a depot (where routes start and end; its drivers are geofenced around it)."""
    depot = Depot(org_id=admin.org_id, **body.model_dump())
    session.add(depot)
    await session.flush()
    reload_fences_after_commit(session, state, admin.org_id)
    return depot


@router.get("/{depot_id}", response_model=DepotOut, responses=ERRORS(401, 403, 404))
async def get_depot(depot_id: int, principal: StaffUser, session: SessionDep) -> Depot:
    """One depot of the organisation."""
    return await get_in_org(session, Depot, depot_id, principal.org_id, label="depot")
