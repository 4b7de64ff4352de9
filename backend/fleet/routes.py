from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from backend.auth.principal import Principal
from backend.crud import page
from backend.deps import CurrentUser, SessionDep, StaffUser
from backend.errors import NotFoundError
from backend.fleet import routes_service as service
from backend.models import Route
from backend.responses import ERRORS
from shared.enums import Role, RouteStatus
from shared.schemas.common import Page
from shared.schemas.fleet import RouteCreate, RouteOut, RouteUpdate

router = APIRouter(prefix="/routes", tags=["routes"])


def _visible(principal: Principal) -> list[Any]:
    conditions: list[Any] = [Route.org_id == principal.org_id]
    if principal.role is Role.DRIVER:
        conditions.append(Route.driver_id == principal.driver_id)
    return conditions


async def _get(session: SessionDep, principal: Principal, route_id: int) -> Route:
    route = await session.get(Route, route_id)
    if (
        route is None
        or route.org_id != principal.org_id
        or (principal.role is Role.DRIVER and route.driver_id != principal.driver_id)
    ):
        raise NotFoundError(f"route {route_id} not found")
    return route


@router.get("", response_model=Page[RouteOut], responses=ERRORS(401, 422))
async def list_routes(
    principal: CurrentUser,
    session: SessionDep,
    service_date: date | None = None,
    driver_id: int | None = None,
    status: Annotated[list[RouteStatus] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[RouteOut]:
    """Routes the caller may see (drivers: their own), with their stops in order."""
    conditions = _visible(principal)
    if service_date is not None:
        conditions.append(Route.service_date == service_date)
    if driver_id is not None:
        conditions.append(Route.driver_id == driver_id)
    if status:
        conditions.append(Route.status.in_(status))  # type: ignore[attr-defined]
    rows, total = await page(session, Route, conditions, limit=limit, offset=offset)
    items = await service.routes_out(session, rows)
    return Page[RouteOut](items=items, total=total, limit=limit, offset=offset)


@router.post(
    "", response_model=RouteOut, status_code=201, responses=ERRORS(400, 401, 403, 409, 422)
)
async def create_route(body: RouteCreate, principal: StaffUser, session: SessionDep) -> RouteOut:
    """Plan a route: a driver, a day and stops in order (a pickup before its dropoff)."""
    route = await service.create_route(session, principal, body)
    return (await service.routes_out(session, [route]))[0]


@router.get("/{route_id}", response_model=RouteOut, responses=ERRORS(401, 404))
async def get_route(route_id: int, principal: CurrentUser, session: SessionDep) -> RouteOut:
    """One route with its stops in order."""
    route = await _get(session, principal, route_id)
    return (await service.routes_out(session, [route]))[0]


@router.patch(
    "/{route_id}", response_model=RouteOut, responses=ERRORS(400, 401, 403, 404, 409, 422)
)
async def update_route(
    route_id: int, body: RouteUpdate, principal: StaffUser, session: SessionDep
) -> RouteOut:
    """Change the driver, vehicle, status, times or the stops (replaced as a whole)."""
    route = await _get(session, principal, route_id)
    route = await service.update_route(session, principal, route, body)
    return (await service.routes_out(session, [route]))[0]


@router.delete("/{route_id}", status_code=204, responses=ERRORS(401, 403, 404))
async def delete_route(route_id: int, principal: StaffUser, session: SessionDep) -> None:
    """Delete a route; its stops go back to unplanned."""
    route = await _get(session, principal, route_id)
    await service.delete_route(session, route)
