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


class Branding(BaseModel):
    """How the organisation presents itself on the page. ``colour`` is ``#rrggbb``;
    ``text_colour`` (black or white) is the one readable on it (WCAG contrast)."""

    name: str
    colour: str
    text_colour: str
    logo_url: str | None = None


class MapSettings(BaseModel):
    """Where the page's map gets its tiles (``{z}/{x}/{y}``; relative: this backend)."""

    tile_url: str
    attribution: str


class ProofSummary(BaseModel):
    """After delivery: when, whether it was left at a safe place, and (when the
    organisation allows it) a small photo of the proof at ``photo_url``."""

    delivered_at: datetime
    safe_place: bool = False
    received_by: str | None = None
    photo_url: str | None = None


class RatingIn(StrictModel):
    """The customer's rating of a delivered order: 1 to 5 stars and an optional comment."""

    stars: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=500)


class RatingOut(BaseModel):
    stars: int
    comment: str
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
    # "Arriving 14:32-14:40": the ETA and a range after it that widens with the time to go.
    eta_window_start: datetime | None = None
    eta_window_end: datetime | None = None
    # How many of the driver's stops come before this one today (None: not on a route).
    stops_before: int | None = None
    brand: Branding | None = None
    map: MapSettings | None = None
    # Self-service: what the customer may still change (and, if not, why not).
    can_change_instructions: bool = False
    can_change_window: bool = False
    window_change_refusal: str | None = None
    # After delivery.
    proof: ProofSummary | None = None
    rating: RatingOut | None = None
    can_rate: bool = False


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
