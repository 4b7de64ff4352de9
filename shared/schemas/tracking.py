"""What a customer sees through a tracking link: no other customer's data, no phone numbers."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.enums import OrderStatus
from shared.schemas.common import OutModel, StrictModel, UtcDatetime


class TrackingEvent(OutModel):
    status: OrderStatus
    at: datetime


class ApproximatePosition(BaseModel):
    """Where the driver roughly is: the centre of a grid cell of ``approx_m`` metres around a
    smoothed track, never the raw fix. WGS84 degrees."""

    lat: float
    lng: float
    recorded_at: datetime
    approx_m: float


class TrackingView(BaseModel):
    order_reference: str | None
    status: OrderStatus
    recipient_name: str
    address: str
    lat: float
    lng: float
    window_start: datetime | None
    window_end: datetime | None
    # When the driver is expected, updated live (None: not on a route yet, or done).
    eta: datetime | None = None
    driver_first_name: str | None
    vehicle_name: str | None
    instructions: str
    timeline: list[TrackingEvent]
    expires_at: datetime
    # Only while this order is the driver's current or next stop; None otherwise.
    driver_position: ApproximatePosition | None = None
    # Tell it to the driver at the door: it proves the parcel reached you (a PIN proof).
    delivery_pin: str | None = None


class InstructionsChange(StrictModel):
    """A customer's delivery instructions: ``option`` and, for a neighbour, a gate code or a
    note, the ``text``."""

    option: Literal["leave_at_door", "with_neighbour", "gate_code", "note", "none"]
    text: str = Field(default="", max_length=300)


class WindowChange(StrictModel):
    """One of the slots ``GET /track/{token}/slots`` offered."""

    start: UtcDatetime
    end: UtcDatetime


class SlotOut(BaseModel):
    start: datetime
    end: datetime


class SelfServiceResult(BaseModel):
    """``applied``: changed now. ``requested``: passed to the dispatcher (the driver is
    already on the way), who decides."""

    outcome: Literal["applied", "requested"]
    message: str
    instructions: str
    window_start: datetime | None
    window_end: datetime | None
