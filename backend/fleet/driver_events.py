"""``/api/v1/drivers/{id}/events``: what happened to a driver on the road."""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlmodel import col

from backend.crud import get_in_org, page
from backend.deps import SessionDep, StaffUser
from backend.models import Driver, DriverEvent
from backend.responses import ERRORS
from shared.enums import DriverEventKind
from shared.schemas.common import Page
from shared.schemas.fleet import DriverEventOut

router = APIRouter(prefix="/drivers", tags=["drivers"])


@router.get(
    "/{driver_id}/events", response_model=Page[DriverEventOut], responses=ERRORS(401, 403, 404, 422)
)
async def driver_events(
    driver_id: int,
    principal: StaffUser,
    session: SessionDep,
    kind: Annotated[list[DriverEventKind] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[DriverEventOut]:
    """A driver's events (zones entered and left...), newest first, optionally of the given
    kinds."""
    await get_in_org(session, Driver, driver_id, principal.org_id, label="driver")
    conditions: list[Any] = [
        DriverEvent.driver_id == driver_id,
        DriverEvent.org_id == principal.org_id,
    ]
    if kind:
        conditions.append(col(DriverEvent.kind).in_(kind))
    rows, total = await page(
        session,
        DriverEvent,
        conditions,
        limit=limit,
        offset=offset,
        order_by=col(DriverEvent.id).desc(),
    )
    return Page[DriverEventOut](
        items=[DriverEventOut.model_validate(e) for e in rows],
        total=total,
        limit=limit,
        offset=offset,
    )
