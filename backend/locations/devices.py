"""Devices: the phones and GPS apps bound to a driver (service + router).

An admin or dispatcher registers a device under a driver with the identifier the app sends
(OsmAnd ``id``, OwnTracks user, Overland ``device_id``) and optionally a secret. Only
SHA-256(salt + secret) is stored; the secret is never returned.
"""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.crud import get_in_org
from backend.deps import SessionDep, StaffUser, StateDep
from backend.errors import ConflictError, NotFoundError
from backend.locations.device_directory import hash_secret, new_salt
from backend.models import Driver
from backend.models.device import Device
from backend.responses import ERRORS
from shared.schemas.common import Page
from shared.schemas.locations import DeviceCreate, DeviceOut

router = APIRouter(prefix="/drivers", tags=["devices"])


def device_out(device: Device) -> DeviceOut:
    assert device.id is not None
    return DeviceOut(
        id=device.id,
        driver_id=device.driver_id,
        identifier=device.identifier,
        has_secret=device.secret_hash is not None,
        created_at=device.created_at,
        last_seen_at=device.last_seen_at,
    )


# --- service ----------------------------------------------------------------------------------


async def create_device(
    session: AsyncSession, org_id: int, driver_id: int, body: DeviceCreate
) -> Device:
    """Register a device; 404 for a driver outside ``org_id``, 409 if the identifier is taken
    anywhere (the GPS protocols carry no organisation, so identifiers are global)."""
    await get_in_org(session, Driver, driver_id, org_id, label="driver")
    taken = (
        await session.exec(select(Device.id).where(Device.identifier == body.identifier))
    ).first()
    if taken is not None:
        raise ConflictError(
            f"the device identifier {body.identifier!r} is already registered",
            code="duplicate_device",
        )
    salt = secret_hash = None
    if body.secret is not None:
        salt = new_salt()
        secret_hash = hash_secret(body.secret, salt)
    device = Device(
        org_id=org_id,
        driver_id=driver_id,
        identifier=body.identifier,
        secret_hash=secret_hash,
        secret_salt=salt,
    )
    session.add(device)
    await session.flush()
    return device


async def list_devices(
    session: AsyncSession, org_id: int, driver_id: int, *, limit: int, offset: int
) -> tuple[list[Device], int]:
    await get_in_org(session, Driver, driver_id, org_id, label="driver")
    condition = (Device.driver_id == driver_id, Device.org_id == org_id)
    total = (await session.exec(select(func.count()).select_from(Device).where(*condition))).one()
    rows = await session.exec(
        select(Device).where(*condition).order_by(col(Device.id)).offset(offset).limit(limit)
    )
    return list(rows.all()), total


async def delete_device(session: AsyncSession, org_id: int, driver_id: int, device_id: int) -> str:
    """Remove a device of this driver; returns its identifier (to forget it in the cache)."""
    device = await get_in_org(session, Device, device_id, org_id, label="device")
    if device.driver_id != driver_id:
        raise NotFoundError(f"device {device_id} not found for driver {driver_id}")
    await session.delete(device)
    return device.identifier


# --- routes -----------------------------------------------------------------------------------


@router.post(
    "/{driver_id}/devices",
    response_model=DeviceOut,
    status_code=201,
    responses=ERRORS(401, 403, 404, 409, 422),
)
async def add_device(
    driver_id: int,
    body: DeviceCreate,
    staff: StaffUser,
    session: SessionDep,
    state: StateDep,
    background: BackgroundTasks,
) -> DeviceOut:
    """Bind a GPS app or phone to a driver by the identifier the app sends, optionally with a
    secret the app must present (OsmAnd ``key``, OwnTracks password, Overland token)."""
    device = await create_device(session, staff.org_id, driver_id, body)
    state.devices.forget(body.identifier)  # an "unknown device" may be cached
    background.add_task(state.devices.forget, body.identifier)  # again, after the commit
    return device_out(device)


@router.get(
    "/{driver_id}/devices", response_model=Page[DeviceOut], responses=ERRORS(401, 403, 404, 422)
)
async def get_devices(
    driver_id: int,
    staff: StaffUser,
    session: SessionDep,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[DeviceOut]:
    """The devices bound to a driver (secrets are never shown, only whether one is set),
    with when each was last heard from (``last_seen_at``)."""
    await state.devices.flush_seen()
    rows, total = await list_devices(session, staff.org_id, driver_id, limit=limit, offset=offset)
    return Page[DeviceOut](
        items=[device_out(d) for d in rows], total=total, limit=limit, offset=offset
    )


@router.delete("/{driver_id}/devices/{device_id}", status_code=204, responses=ERRORS(401, 403, 404))
async def remove_device(
    driver_id: int,
    device_id: int,
    staff: StaffUser,
    session: SessionDep,
    state: StateDep,
    background: BackgroundTasks,
) -> None:
    """Unbind a device: its fixes are refused from now on."""
    identifier = await delete_device(session, staff.org_id, driver_id, device_id)
    state.devices.forget(identifier)
    background.add_task(state.devices.forget, identifier)  # after the commit, too
