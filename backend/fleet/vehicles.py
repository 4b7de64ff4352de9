from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, func, select

from backend.crud import get_in_org, page, reference_in_org
from backend.deps import AdminUser, SessionDep, StaffUser
from backend.errors import ConflictError
from backend.models import Depot, Driver, Route, Vehicle
from backend.responses import ERRORS
from shared.schemas.common import Page
from shared.schemas.fleet import VehicleCreate, VehicleOut, VehicleUpdate

router = APIRouter(prefix="/vehicles", tags=["vehicles"])


@router.get("", response_model=Page[VehicleOut], responses=ERRORS(401, 403, 422))
async def list_vehicles(
    principal: StaffUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[VehicleOut]:
    """The organisation's vehicles."""
    rows, total = await page(
        session, Vehicle, [Vehicle.org_id == principal.org_id], limit=limit, offset=offset
    )
    return Page[VehicleOut](
        items=[VehicleOut.model_validate(v) for v in rows], total=total, limit=limit, offset=offset
    )


@router.post("", response_model=VehicleOut, status_code=201, responses=ERRORS(400, 401, 403, 422))
async def create_vehicle(body: VehicleCreate, admin: AdminUser, session: SessionDep) -> Vehicle:
    """Add a vehicle with its capacities (kg, m³) and skills (e.g. 'fridge')."""
    await reference_in_org(session, Depot, body.depot_id, admin.org_id, field="depot_id")
    vehicle = Vehicle(org_id=admin.org_id, **body.model_dump())
    session.add(vehicle)
    await session.flush()
    return vehicle


@router.get("/{vehicle_id}", response_model=VehicleOut, responses=ERRORS(401, 403, 404))
async def get_vehicle(vehicle_id: int, principal: StaffUser, session: SessionDep) -> Vehicle:
    """One vehicle of the organisation."""
    return await get_in_org(session, Vehicle, vehicle_id, principal.org_id, label="vehicle")


@router.patch("/{vehicle_id}", response_model=VehicleOut, responses=ERRORS(400, 401, 403, 404, 422))
async def update_vehicle(
    vehicle_id: int, body: VehicleUpdate, admin: AdminUser, session: SessionDep
) -> Vehicle:
    """Change a vehicle's name, capacities, skills or home depot."""
    vehicle = await get_in_org(session, Vehicle, vehicle_id, admin.org_id, label="vehicle")
    changes = body.model_dump(exclude_unset=True)
    if "depot_id" in changes:
        await reference_in_org(session, Depot, body.depot_id, admin.org_id, field="depot_id")
    for key, value in changes.items():
        setattr(vehicle, key, value)
    session.add(vehicle)
    return vehicle


@router.delete("/{vehicle_id}", status_code=204, responses=ERRORS(401, 403, 404, 409))
async def delete_vehicle(vehicle_id: int, admin: AdminUser, session: SessionDep) -> None:
    """Remove a vehicle no driver and no route uses."""
    vehicle = await get_in_org(session, Vehicle, vehicle_id, admin.org_id, label="vehicle")
    for model, label in ((Driver, "driver"), (Route, "route")):
        used = (
            await session.exec(
                select(func.count()).select_from(model).where(col(model.vehicle_id) == vehicle_id)
            )
        ).one()
        if used:
            raise ConflictError(f"vehicle {vehicle_id} is still used by {used} {label}(s)")
    await session.delete(vehicle)
