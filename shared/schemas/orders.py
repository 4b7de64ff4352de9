from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from shared.enums import EventKind, OrderStatus, ProofType, Role, StopKind
from shared.schemas.common import (
    Email,
    Latitude,
    Longitude,
    OutModel,
    StrictModel,
    TimeWindow,
    never_null,
    not_null,
)

Barcode = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^\S+$")]


class StopIn(StrictModel):
    """Where and when a pickup or a dropoff happens."""

    address: str = Field(min_length=1, max_length=500)
    lat: Latitude
    lng: Longitude
    time_window: TimeWindow | None = None
    service_time_s: int = Field(default=120, ge=0, le=8 * 3600)
    arrival_radius_m: float | None = Field(
        default=None,
        ge=10,
        le=2000,
        description="how close the driver must be to count as arrived here (metres); "
        "empty: the server's default (LASTMILE_GEOFENCE_ARRIVAL_M)",
    )


class StopOut(OutModel):
    id: int
    order_id: int
    kind: StopKind
    address: str
    lat: float
    lng: float
    window_start: datetime | None
    window_end: datetime | None
    service_time_s: int
    arrival_radius_m: float | None = None  # None: the server's default arrival radius
    route_id: int | None
    sequence: int | None
    planned_arrival_at: datetime | None
    eta_at: datetime | None = None  # live estimate, while the stop is still to be served
    actual_arrival_at: datetime | None
    actual_departure_at: datetime | None


class OrderCreate(StrictModel):
    """A delivery task: a dropoff, a pickup, or a pickup followed by a dropoff."""

    reference: str | None = Field(default=None, max_length=100)
    pickup: StopIn | None = None
    dropoff: StopIn | None = None
    recipient_name: str = Field(min_length=1, max_length=200)
    recipient_phone: str | None = Field(default=None, max_length=40)
    recipient_email: Email | None = None
    language: str | None = Field(
        default=None,
        pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$",
        description="the customer's language for notices (e.g. fr); unset: the organisation's",
    )
    weight_kg: float = Field(default=0.0, ge=0, le=50_000, allow_inf_nan=False)
    volume_m3: float = Field(default=0.0, ge=0, le=1_000, allow_inf_nan=False)
    priority: int = Field(default=0, ge=0, le=10, description="0 normal … 10 most urgent")
    required_proofs: list[ProofType] = Field(default_factory=list)
    required_skills: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=20, description="the vehicle must have all of them"
    )
    lateness_weight: float | None = Field(
        default=None,
        gt=0,
        le=1000,
        allow_inf_nan=False,
        description="soft window: planning may arrive up to 2 h late, a minute late costing "
        "like this many minutes of driving; unset: the window is hard",
    )
    notes: str = Field(default="", max_length=2000, description="for dispatch and the driver")
    instructions: str = Field(default="", max_length=2000, description="delivery instructions")
    barcodes: list[Barcode] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _has_a_stop(self) -> "OrderCreate":
        if self.pickup is None and self.dropoff is None:
            raise ValueError("an order needs a pickup, a dropoff, or both")
        if len(set(self.barcodes)) != len(self.barcodes):
            raise ValueError("barcodes repeat within the order")
        return self


_ORDER_NEVER_NULL = (
    "recipient_name",
    "weight_kg",
    "volume_m3",
    "priority",
    "required_proofs",
    "required_skills",
    "notes",
    "instructions",
    "dropoff",
    "pickup",
)


class OrderUpdate(StrictModel):
    """Fields that may change after creation. Status changes go through transitions."""

    reference: str | None = Field(default=None, max_length=100)
    recipient_name: str | None = Field(default=None, min_length=1, max_length=200)
    recipient_phone: str | None = Field(default=None, max_length=40)
    recipient_email: Email | None = None
    weight_kg: float | None = Field(default=None, ge=0, le=50_000, allow_inf_nan=False)
    volume_m3: float | None = Field(default=None, ge=0, le=1_000, allow_inf_nan=False)
    priority: int | None = Field(default=None, ge=0, le=10)
    required_proofs: list[ProofType] | None = None
    required_skills: list[Annotated[str, Field(min_length=1, max_length=50)]] | None = Field(
        default=None, max_length=20
    )
    lateness_weight: float | None = Field(default=None, gt=0, le=1000, allow_inf_nan=False)
    notes: str | None = Field(default=None, max_length=2000)
    instructions: str | None = Field(default=None, max_length=2000)
    dropoff: StopIn | None = None
    pickup: StopIn | None = None

    # Left out: unchanged. Null: refused (these have no empty value; a stop is not removed).
    model_config = never_null(*_ORDER_NEVER_NULL)
    _not_null = field_validator(*_ORDER_NEVER_NULL)(not_null)


class OrderBatchCreate(StrictModel):
    orders: list[OrderCreate] = Field(min_length=1, max_length=1000)


class TransitionRequest(StrictModel):
    """Move an order to another status. ``driver_id`` is required to assign."""

    to: OrderStatus
    driver_id: int | None = None
    reason: str | None = Field(default=None, max_length=500)
    lat: Latitude | None = None
    lng: Longitude | None = None
    client_id: str | None = Field(
        default=None,
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="generated by the app once per change: a replay is answered, not redone",
    )

    @model_validator(mode="after")
    def _both_or_no_coordinates(self) -> "TransitionRequest":
        if (self.lat is None) != (self.lng is None):
            raise ValueError("give both lat and lng, or neither")
        return self


class OrderOut(OutModel):
    id: int
    org_id: int
    reference: str | None
    status: OrderStatus
    recipient_name: str
    recipient_phone: str | None
    recipient_email: str | None
    language: str | None = None
    weight_kg: float
    volume_m3: float
    priority: int
    required_proofs: list[ProofType]
    required_skills: list[str] = Field(default_factory=list)
    lateness_weight: float | None = None
    notes: str
    instructions: str
    driver_id: int | None
    barcodes: list[str]
    stops: list[StopOut]
    created_at: datetime
    updated_at: datetime


class OrderEventOut(OutModel):
    id: int
    order_id: int
    kind: EventKind
    from_status: OrderStatus | None
    to_status: OrderStatus | None
    actor_user_id: int | None
    actor_role: Role | None
    at: datetime
    lat: float | None
    lng: float | None
    details: dict[str, Any]


class TrackingLinkCreate(StrictModel):
    ttl_hours: int | None = Field(default=None, ge=1, le=24 * 30)


class TrackingLinkOut(OutModel):
    token: str
    url: str
    order_id: int
    expires_at: datetime
