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
    when the channel refused it for good or every attempt failed; ``skipped`` when it was
    never to be sent (the customer opted out, an "arriving" notice fell in quiet hours):
    ``last_error`` says why."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class WebhookEventType(StrEnum):
    """What an organisation's webhook endpoint may subscribe to; ``order.<status>`` for
    every status an order moves to (``order.unassigned``: back to created)."""

    ORDER_CREATED = "order.created"
    ORDER_UNASSIGNED = "order.unassigned"
    ORDER_ASSIGNED = "order.assigned"
    ORDER_EN_ROUTE_TO_PICKUP = "order.en_route_to_pickup"
    ORDER_PICKED_UP = "order.picked_up"
    ORDER_EN_ROUTE = "order.en_route"
    ORDER_ARRIVING = "order.arriving"
    ORDER_DELIVERED = "order.delivered"
    ORDER_FAILED = "order.failed"
    ORDER_RETURNED = "order.returned"
    ORDER_RESCHEDULED = "order.rescheduled"
    ORDER_CANCELLED = "order.cancelled"
    PROOF_ADDED = "proof.added"
    DRIVER_STATUS_CHANGED = "driver.status_changed"
    ROUTE_PUBLISHED = "route.published"
    PING = "ping"  # the test endpoint's sample; sent to one endpoint, never subscribed to


class WebhookDeliveryStatus(StrEnum):
    """``pending`` while attempts go on (with backoff), ``delivered`` at the first 2xx,
    ``failed`` once the retry window (24 h by default) is over."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
