"""Which webhook events an order event stands for (pure)."""

from datetime import UTC, datetime

from backend.webhooks.event_types import SUBSCRIBABLE, envelope, types_for_order_event
from shared.enums import EventKind, OrderStatus, WebhookEventType

W = WebhookEventType


def test_every_status_an_order_can_reach_is_an_event_named_after_it() -> None:
    for status in OrderStatus:
        [found] = types_for_order_event(EventKind.STATUS_CHANGED, status, {})
        expected = "order.unassigned" if status is OrderStatus.CREATED else f"order.{status}"
        assert found == expected


def test_creation_and_proofs() -> None:
    assert types_for_order_event(EventKind.CREATED, OrderStatus.CREATED, {}) == [W.ORDER_CREATED]
    delivered = types_for_order_event(
        EventKind.STATUS_CHANGED, OrderStatus.DELIVERED, {"pod": {"files": ["photo-1.jpg"]}}
    )
    assert delivered == [W.ORDER_DELIVERED, W.PROOF_ADDED]


def test_events_that_are_no_webhook_event() -> None:
    for kind in (EventKind.ETA_CHANGED, EventKind.ARRIVED, EventKind.UPDATED, EventKind.RATED):
        assert types_for_order_event(kind, None, {}) == []


def test_ping_cannot_be_subscribed_to_and_the_envelope_names_the_event() -> None:
    assert W.PING not in SUBSCRIBABLE
    at = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    body = envelope("evt_1", W.ORDER_CREATED, 3, at, {"order_id": 9})
    assert body == {
        "id": "evt_1",
        "type": "order.created",
        "created_at": "2026-12-05T12:00:00+00:00",
        "org_id": 3,
        "data": {"order_id": 9},
    }
