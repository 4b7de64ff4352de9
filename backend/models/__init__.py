"""Table models, one module per table. Importing this package registers them all."""

from backend.models.barcode import Barcode
from backend.models.depot import Depot
from backend.models.device import Device
from backend.models.driver import Driver
from backend.models.driver_event import DriverEvent
from backend.models.exception_resolution import ExceptionResolution
from backend.models.idempotency_key import IdempotencyKey
from backend.models.location_fix import LocationFix
from backend.models.notification import Notification
from backend.models.notification_settings import (
    NotificationOptOut,
    NotificationSettings,
    NotificationTemplate,
)
from backend.models.optimization_job import OptimizationJob
from backend.models.order import Order
from backend.models.order_event import OrderEvent
from backend.models.organization import Organization
from backend.models.route import Route
from backend.models.stop import Stop
from backend.models.tracking_link import TrackingLink
from backend.models.tracking_page_view import TrackingPageView
from backend.models.user import User
from backend.models.vehicle import Vehicle
from backend.models.webhook import WebhookDelivery, WebhookEndpoint
from backend.models.zone import Zone

__all__ = [
    "Barcode",
    "Depot",
    "Device",
    "Driver",
    "DriverEvent",
    "ExceptionResolution",
    "IdempotencyKey",
    "LocationFix",
    "Notification",
    "NotificationOptOut",
    "NotificationSettings",
    "NotificationTemplate",
    "OptimizationJob",
    "Order",
    "OrderEvent",
    "Organization",
    "Route",
    "Stop",
    "TrackingLink",
    "TrackingPageView",
    "User",
    "Vehicle",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Zone",
]
