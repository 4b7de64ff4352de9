"""Location fixes on the wire (our driver app) and what dispatchers read back."""

from datetime import datetime

from pydantic import BaseModel, Field

from shared.enums import DriverStatus
from shared.schemas.common import Latitude, Longitude, OutModel, StrictModel, UtcDatetime

MAX_BATCH = 500


class FixIn(StrictModel):
    """One fix from our driver app. Units: m/s, degrees from north, metres, percent."""

    lat: Latitude
    lng: Longitude
    recorded_at: UtcDatetime
    speed_mps: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    heading_deg: float | None = Field(default=None, ge=0, lt=360, allow_inf_nan=False)
    accuracy_m: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    altitude_m: float | None = Field(default=None, allow_inf_nan=False)
    battery: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)


class RejectedFix(BaseModel):
    index: int
    reason: str
    message: str


class IngestResponse(BaseModel):
    """``accepted`` fixes are stored durably; ``rejected`` says which were not and why."""

    accepted: int
    rejected: list[RejectedFix]
    history_only: int = 0


class PositionOut(OutModel):
    driver_id: int
    lat: float
    lng: float
    recorded_at: datetime
    speed_mps: float | None
    heading_deg: float | None
    accuracy_m: float | None
    battery: float | None
    age_s: float


class NearestDriverOut(OutModel):
    """An on-duty driver and how far their last stored fix is from the asked point, in a
    straight line (metres); ``recorded_at`` is when that fix was taken (last seen)."""

    driver_id: int
    name: str
    status: DriverStatus
    lat: float
    lng: float
    distance_m: float
    recorded_at: datetime
    age_s: float


class DeviceCreate(StrictModel):
    identifier: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")
    secret: str | None = Field(default=None, min_length=8, max_length=200)


class DeviceOut(OutModel):
    id: int
    driver_id: int
    identifier: str
    has_secret: bool
    created_at: datetime
    last_seen_at: datetime | None


class LocationFixOut(OutModel):
    """One stored fix of a driver's history. Units: m/s, degrees from north, metres, percent."""

    lat: float
    lng: float
    recorded_at: datetime
    received_at: datetime
    speed_mps: float | None
    heading_deg: float | None
    accuracy_m: float | None
    altitude_m: float | None
    battery: float | None
    source: str
