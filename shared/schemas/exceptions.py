"""The dispatcher's exceptions inbox (``GET /exceptions``) and marking an item resolved."""

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared.enums import OrderStatus
from shared.schemas.common import OutModel, StrictModel


class ExceptionKind(StrEnum):
    FAILED_DELIVERY = "failed_delivery"
    LATE_RISK = "late_risk"
    OFF_ROUTE = "off_route"
    PROOF_FAR_FROM_ADDRESS = "proof_far_from_address"
    PROOF_WITHOUT_POSITION = "proof_without_position"
    LEFT_WITHOUT_PROOF = "left_without_proof"
    CUSTOMER_REQUEST = "customer_request"
    DRIVER_SILENT = "driver_silent"  # on shift, and no position for too long


class ExceptionAction(StrEnum):
    """What the dispatcher can do about an item: give the order to another driver, move it
    to another day or window, phone whoever ``contact_phone`` is, or mark it resolved."""

    REASSIGN = "reassign"
    RESCHEDULE = "reschedule"
    CALL = "call"
    RESOLVE = "resolve"


class ResolutionOut(OutModel):
    key: str
    resolved_at: datetime
    resolved_by_user_id: int | None
    resolved_by_name: str | None
    note: str


class ExceptionItem(OutModel):
    """One thing that needs a dispatcher's eyes. ``key`` names it for good (the same item
    has the same key on every read; a new occurrence gets a new key).

    Which fields are filled depends on ``kind``: a failed delivery has ``reason``,
    ``note`` and ``follow_up``; a late risk ``eta``, ``window_end`` and ``late_by_s``; a
    proof or an off-route ``distance_m`` (metres); a customer request ``instructions``; a
    silent driver ``last_fix_at`` (None: no position at all) and ``silent_s``."""

    key: str
    kind: ExceptionKind
    at: datetime
    actions: list[ExceptionAction]
    order_id: int | None = None
    order_reference: str | None = None
    order_status: OrderStatus | None = None
    recipient_name: str | None = None
    recipient_phone: str | None = None
    driver_id: int | None = None
    driver_name: str | None = None
    driver_phone: str | None = None
    # Who the "call" action phones: the customer for an order's trouble, else the driver.
    contact_name: str | None = None
    contact_phone: str | None = None
    stop_id: int | None = None
    lat: float | None = None
    lng: float | None = None
    status: OrderStatus | None = None  # the status the event moved the order to
    reason: str | None = None
    note: str | None = None
    follow_up: str | None = None
    driver_user_id: int | None = None
    distance_m: float | None = None
    radius_m: float | None = None
    eta: datetime | None = None
    window_end: datetime | None = None
    late_by_s: float | None = None
    instructions: str | None = None
    option: str | None = None
    last_fix_at: datetime | None = None
    silent_s: float | None = None
    resolved: ResolutionOut | None = None


class ExceptionCount(OutModel):
    """``GET /exceptions/count``: open items, in total and by kind."""

    total: int
    by_kind: dict[str, int]


class ResolveRequest(StrictModel):
    note: str = Field(default="", max_length=500, description="what was done about it")
