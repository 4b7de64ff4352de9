from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import delete as sa_delete
from sqlmodel import col, func, select

from backend.crud import get_in_org, page, reference_in_org
from backend.deps import AdminUser, DriverUser, SessionDep, StaffUser, StateDep
from backend.errors import BadRequestError, ConflictError
from backend.models import Device, Driver, DriverEvent, LocationFix, Order, Route, User, Vehicle
from backend.responses import ERRORS
from backend.webhooks.outbox import enqueue_driver_status
from shared.enums import DriverStatus, Role
from shared.lifecycle import TERMINAL
from shared.schemas.common import Page
from shared.schemas.fleet import DriverCreate, DriverOut, DriverStatusUpdate, DriverUpdate

router = APIRouter(prefix="/drivers", tags=["drivers"])


@router.get("", response_model=Page[DriverOut], responses=ERRORS(401, 403, 422))
async def list_drivers(
    principal: StaffUser,
    session: SessionDep,
    status: Annotated[list[DriverStatus] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[DriverOut]:
    """The organisation's drivers, optionally only those in the given statuses."""
    conditions: list[Any] = [Driver.org_id == principal.org_id]
    if status:
        conditions.append(col(Driver.status).in_(status))
    rows, total = await page(session, Driver, conditions, limit=limit, offset=offset)
    return Page[DriverOut](
        items=[DriverOut.model_validate(d) for d in rows], total=total, limit=limit, offset=offset
    )


@router.post(
    "", response_model=DriverOut, status_code=201, responses=ERRORS(400, 401, 403, 409, 422)
)
async def create_driver(body: DriverCreate, admin: AdminUser, session: SessionDep) -> Driver:
    """Add a driver, optionally linked to a login with the driver role."""
    user = await reference_in_org(session, User, body.user_id, admin.org_id, field="user_id")
    if user is not None:
        if user.role != Role.DRIVER:
            raise BadRequestError(f"user_id: user {user.id} has the {user.role} role, not driver")
        linked = (await session.exec(select(Driver.id).where(Driver.user_id == user.id))).first()
        if linked is not None:
            raise ConflictError(f"user {user.id} already drives as driver {linked}")
    await reference_in_org(session, Vehicle, body.vehicle_id, admin.org_id, field="vehicle_id")
    driver = Driver(org_id=admin.org_id, **body.model_dump())
    session.add(driver)
    await session.flush()
    return driver


@router.get("/me", response_model=DriverOut, responses=ERRORS(401, 403))
async def my_driver(driver: DriverUser, session: SessionDep) -> Driver:
    """The signed-in driver's profile."""
    assert driver.driver_id is not None
    return await get_in_org(session, Driver, driver.driver_id, driver.org_id, label="driver")


@router.put("/me/status", response_model=DriverOut, responses=ERRORS(401, 403, 422))
async def set_my_status(
    body: DriverStatusUpdate, driver: DriverUser, session: SessionDep
) -> Driver:
    """Start or end a shift, take a break: the driver sets their own status."""
    assert driver.driver_id is not None
    row = await get_in_org(session, Driver, driver.driver_id, driver.org_id, label="driver")
    previous, row.status = row.status, body.status
    session.add(row)
    await enqueue_driver_status(session, row, previous)
    return row


@router.get("/{driver_id}", response_model=DriverOut, responses=ERRORS(401, 403, 404))
async def get_driver(driver_id: int, principal: StaffUser, session: SessionDep) -> Driver:
    """One driver of the organisation."""
    return await get_in_org(session, Driver, driver_id, principal.org_id, label="driver")


@router.patch("/{driver_id}", response_model=DriverOut, responses=ERRORS(400, 401, 403, 404, 422))
async def update_driver(
    driver_id: int, body: DriverUpdate, principal: StaffUser, session: SessionDep
) -> Driver:
    """Change a driver's name, phone, vehicle or status."""
    driver = await get_in_org(session, Driver, driver_id, principal.org_id, label="driver")
    changes = body.model_dump(exclude_unset=True)
    if "vehicle_id" in changes:
        await reference_in_org(
            session, Vehicle, body.vehicle_id, principal.org_id, field="vehicle_id"
        )
    previous = driver.status
    for key, value in changes.items():
        setattr(driver, key, value)
    session.add(driver)
    await enqueue_driver_status(session, driver, previous)
    return driver


@router.delete("/{driver_id}", status_code=204, responses=ERRORS(401, 403, 404, 409))
async def delete_driver(
    driver_id: int, admin: AdminUser, session: SessionDep, state: StateDep
) -> None:
    """Remove a driver who has no orders (open or past) and no routes. Their devices,
    location history and driver events go with them."""
    driver = await get_in_org(session, Driver, driver_id, admin.org_id, label="driver")
    open_orders, past_orders = (
        await session.exec(
            select(
                func.count().filter(col(Order.status).not_in(list(TERMINAL))),
                func.count().filter(col(Order.status).in_(list(TERMINAL))),
            ).where(Order.driver_id == driver_id)
        )
    ).one()
    routes = (
        await session.exec(
            select(func.count()).select_from(Route).where(Route.driver_id == driver_id)
        )
    ).one()
    if open_orders or routes:
        raise ConflictError(
            f"driver {driver_id} still has {open_orders} open order(s) and {routes} route(s); "
            "reassign them first"
        )
    if past_orders:
        raise ConflictError(
            f"driver {driver_id} is named on {past_orders} finished order(s), whose history "
            "must keep them; a driver with delivery history cannot be deleted"
        )
    identifiers = (
        await session.exec(select(Device.identifier).where(Device.driver_id == driver_id))
    ).all()
    await session.exec(sa_delete(Device).where(col(Device.driver_id) == driver_id))
    await session.exec(sa_delete(LocationFix).where(col(LocationFix.driver_id) == driver_id))
    await session.exec(sa_delete(DriverEvent).where(col(DriverEvent.driver_id) == driver_id))
    await session.delete(driver)
    await session.flush()
    for identifier in identifiers:
        state.devices.forget(identifier)
    state.locations.forget_driver(admin.org_id, driver_id)
    state.principals.drop(driver.user_id)  # the login no longer drives
