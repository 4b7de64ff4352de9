"""What a customer sees through a tracking link: no other customer's data, no phone numbers."""

from datetime import datetime

from pydantic import BaseModel

from shared.enums import OrderStatus
from shared.schemas.common import OutModel


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
    driver_first_name: str | None
    vehicle_name: str | None
    instructions: str
    timeline: list[TrackingEvent]
    expires_at: datetime
    # Only while this order is the driver's current or next stop; None otherwise.
    driver_position: ApproximatePosition | None = None
