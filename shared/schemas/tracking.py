"""What a customer sees through a tracking link: no other customer's data, no phone numbers."""

from datetime import datetime

from pydantic import BaseModel

from shared.enums import OrderStatus
from shared.schemas.common import OutModel


class TrackingEvent(OutModel):
    status: OrderStatus
    at: datetime


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
