"""Enumerations that cross the wire. Values are stable API strings."""

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    DISPATCHER = "dispatcher"
    DRIVER = "driver"


class DriverStatus(StrEnum):
    OFFLINE = "offline"
    IDLE = "idle"
    EN_ROUTE = "en_route"
    DELIVERING = "delivering"
    ON_BREAK = "on_break"


class OrderStatus(StrEnum):
    CREATED = "created"
    ASSIGNED = "assigned"
    EN_ROUTE_TO_PICKUP = "en_route_to_pickup"
    PICKED_UP = "picked_up"
    EN_ROUTE = "en_route"
    ARRIVING = "arriving"
    DELIVERED = "delivered"
    FAILED = "failed"
    RETURNED = "returned"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"


class StopKind(StrEnum):
    PICKUP = "pickup"
    DROPOFF = "dropoff"


class ProofType(StrEnum):
    PHOTO = "photo"
    SIGNATURE = "signature"
    BARCODE = "barcode"
    PIN = "pin"
    AGE_CHECK = "age_check"


class RouteStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class EventKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    STATUS_CHANGED = "status_changed"
    ROUTED = "routed"
    TRACKING_LINK_CREATED = "tracking_link_created"
    # Seen by geofencing, not confirmed by anyone: the event carries the fix that caused it.
    ARRIVED = "arrived"  # stayed inside the stop's arrival fence: "at stop"
    DEPARTED = "departed"  # left the stop's arrival fence
    LEFT_WITHOUT_PROOF = "left_without_proof"  # left a drop-off not delivered nor failed
    LATE_RISK = "late_risk"  # the ETA passed the stop's window end
    ETA_CHANGED = "eta_changed"
    RATED = "rated"  # the customer rated the delivery (details: stars, comment)
    # Too late to apply (the driver is on the way): the customer's change waits for dispatch.
    CUSTOMER_REQUEST = "customer_request"


class DriverEventKind(StrEnum):
    OFF_ROUTE = "off_route"  # farther than the threshold from the planned route too long
    BACK_ON_ROUTE = "back_on_route"
    ZONE_ENTERED = "zone_entered"
    ZONE_EXITED = "zone_exited"


class ZoneKind(StrEnum):
    """An area an admin draws: a polygon (``zone``, ``restricted``) or a ``corridor`` (every
    place within half its width of a line)."""

    ZONE = "zone"  # a delivery area, an old town: entering and leaving are logged
    RESTRICTED = "restricted"  # drivers should not be there (low-emission area, no-go)
    CORRIDOR = "corridor"


class NotificationChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class NotificationStatus(StrEnum):
    """``pending`` until a worker sends it (retries included), then ``sent``; ``failed``
    when the channel refused it for good or every attempt failed."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
