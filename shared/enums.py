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
