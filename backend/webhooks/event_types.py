"""Which webhook event types an order event stands for, and the payload sent. Pure."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.enums import EventKind, OrderStatus, WebhookEventType

W = WebhookEventType

# A status change to the key is the value's event; back to ``created``: unassigned.
STATUS_EVENTS: Mapping[OrderStatus, WebhookEventType] = {
    OrderStatus.CREATED: W.ORDER_UNASSIGNED,
    OrderStatus.ASSIGNED: W.ORDER_ASSIGNED,
    OrderStatus.EN_ROUTE_TO_PICKUP: W.ORDER_EN_ROUTE_TO_PICKUP,
    OrderStatus.PICKED_UP: W.ORDER_PICKED_UP,
    OrderStatus.EN_ROUTE: W.ORDER_EN_ROUTE,
    OrderStatus.ARRIVING: W.ORDER_ARRIVING,
    OrderStatus.DELIVERED: W.ORDER_DELIVERED,
    OrderStatus.FAILED: W.ORDER_FAILED,
    OrderStatus.RETURNED: W.ORDER_RETURNED,
    OrderStatus.RESCHEDULED: W.ORDER_RESCHEDULED,
    OrderStatus.CANCELLED: W.ORDER_CANCELLED,
}
# What an endpoint may subscribe to: everything but the test endpoint's ``ping``.
SUBSCRIBABLE = frozenset(W) - {W.PING}


def types_for_order_event(
    kind: str, to_status: str | None, details: Mapping[str, Any]
) -> list[WebhookEventType]:
    """The webhook events of one order event, in the order they are sent: a delivery
    with its proof is ``order.delivered`` then ``proof.added``."""
    if kind == EventKind.CREATED:
        return [W.ORDER_CREATED]
    if kind != EventKind.STATUS_CHANGED or to_status is None:
        return []  # ETA changes, geofence arrivals...: not (yet) webhook events
    found = [STATUS_EVENTS[OrderStatus(to_status)]]
    if details.get("pod"):
        found.append(W.PROOF_ADDED)
    return found


def envelope(
    event_id: str,
    event_type: WebhookEventType,
    org_id: int,
    created_at: datetime,
    data: Mapping[str, Any],
) -> dict[str, Any]:
    """The JSON body of a delivery: ``{id, type, created_at, org_id, data}``; ``id`` is
    the event's, the same for every endpoint that hears of it."""
    return {
        "id": event_id,
        "type": event_type.value,
        "created_at": created_at.isoformat(),
        "org_id": org_id,
        "data": dict(data),
    }
