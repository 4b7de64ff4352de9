"""Drivers, vehicles, depots and routes."""

from datetime import date, datetime
from typing import Any

from pydantic import Field, field_validator

from shared.enums import DriverEventKind, DriverStatus, RouteStatus
from shared.schemas.common import (
    Latitude,
    Longitude,
    OutModel,
    StrictModel,
    never_null,
    not_null,
)
from shared.schemas.orders import StopOut

Skill = str


class DepotCreate(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(default="", max_length=500)
    lat: Latitude
    lng: Longitude


class DepotOut(OutModel):
    id: int
    org_id: int
    name: str
    address: str
    lat: float
    lng: float


class VehicleCreate(StrictModel):
    name: str = Field(min_length=1, max_length=100, description="plate or fleet number")
    capacity_weight_kg: float = Field(default=0.0, ge=0, le=100_000, allow_inf_nan=False)
    capacity_volume_m3: float = Field(default=0.0, ge=0, le=1_000, allow_inf_nan=False)
    skills: list[Skill] = Field(default_factory=list, max_length=50)
    depot_id: int | None = None


_VEHICLE_NEVER_NULL = ("name", "capacity_weight_kg", "capacity_volume_m3", "skills")


class VehicleUpdate(StrictModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    capacity_weight_kg: float | None = Field(default=None, ge=0, le=100_000, allow_inf_nan=False)
    capacity_volume_m3: float | None = Field(default=None, ge=0, le=1_000, allow_inf_nan=False)
    skills: list[Skill] | None = Field(default=None, max_length=50)
    depot_id: int | None = None

    model_config = never_null(*_VEHICLE_NEVER_NULL)
    _not_null = field_validator(*_VEHICLE_NEVER_NULL)(not_null)


class VehicleOut(OutModel):
    id: int
    org_id: int
    name: str
    capacity_weight_kg: float
    capacity_volume_m3: float
    skills: list[str]
    depot_id: int | None


class DriverCreate(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    user_id: int | None = Field(default=None, description="the login this driver uses")
    vehicle_id: int | None = None


class DriverUpdate(StrictModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    vehicle_id: int | None = None
    status: DriverStatus | None = None

    model_config = never_null("name", "status")
    _not_null = field_validator("name", "status")(not_null)


class DriverStatusUpdate(StrictModel):
    status: DriverStatus


class DriverOut(OutModel):
    id: int
    org_id: int
    name: str
    phone: str | None
    user_id: int | None
    vehicle_id: int | None
    status: DriverStatus


class DriverEventOut(OutModel):
    """Something that happened to a driver on the road (a zone entered or left...), where
    (``lat``/``lng``, WGS84) and when (``at``: the fix's time)."""

    id: int
    org_id: int
    driver_id: int
    route_id: int | None
    kind: DriverEventKind
    at: datetime
    lat: float | None
    lng: float | None
    details: dict[str, Any]


class RouteStopIn(StrictModel):
    stop_id: int
    planned_arrival_at: datetime | None = None


class RouteCreate(StrictModel):
    driver_id: int
    vehicle_id: int | None = None
    service_date: date
    stops: list[RouteStopIn] = Field(default_factory=list, max_length=2000)
    planned_start_at: datetime | None = None
    planned_end_at: datetime | None = None


class RouteUpdate(StrictModel):
    driver_id: int | None = None
    vehicle_id: int | None = None
    status: RouteStatus | None = None
    stops: list[RouteStopIn] | None = Field(default=None, max_length=2000)
    planned_start_at: datetime | None = None
    planned_end_at: datetime | None = None


class RouteOut(OutModel):
    id: int
    org_id: int
    driver_id: int
    vehicle_id: int | None
    service_date: date
    status: RouteStatus
    planned_start_at: datetime | None
    planned_end_at: datetime | None
    actual_start_at: datetime | None
    actual_end_at: datetime | None
    stops: list[StopOut]
