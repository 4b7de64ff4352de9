"""Appending to an order's timeline and announcing it once committed.

Every event goes to the organisation's channel (dispatchers) and the order's channel (its
tracking page) as ``{"type": "order_event", event_id, order_id, kind, from_status,
to_status, at}``, and to the channel of every driver the order belongs or belonged to in
this transaction as ``{"type": "order_changed", ...the same fields}``: a driver whose order
is reassigned, unplanned or rescheduled hears of it too, not only the new driver
(:func:`note_driver`).
"""

from collections.abc import Sequence
from typing import Any

import orjson
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.db import after_commit
from backend.models import Order, OrderEvent
from backend.webhooks import outbox as webhooks
from shared.channels import driver_channel, order_channel, org_channel
from shared.enums import EventKind, OrderStatus


def new_event(
    order: Order,
    kind: EventKind,
    actor: Principal | None,
    *,
    from_status: OrderStatus | None = None,
    to_status: OrderStatus | None = None,
    lat: float | None = None,
    lng: float | None = None,
    details: dict[str, Any] | None = None,
) -> OrderEvent:
    """An event for ``order``'s timeline, not yet stored (see :func:`append`)."""
    assert order.id is not None
    return OrderEvent(
        org_id=order.org_id,
        order_id=order.id,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor_user_id=actor.user_id if actor else None,
        actor_role=actor.role if actor else None,
        lat=lat,
        lng=lng,
        details=details or {},
    )


_DRIVERS = "lastmile.order_drivers"


def note_driver(session: AsyncSession, order: Order) -> None:
    """Remember ``order``'s driver before a change may take the order away from them: the
    events of this transaction reach that driver's app too. :func:`record` notes the
    driver the order has when the event is recorded; a change that unassigns calls this
    first (:mod:`backend.orders.transitions`)."""
    if order.driver_id is not None and order.id is not None:
        drivers: dict[int, set[int]] = session.info.setdefault(_DRIVERS, {})
        drivers.setdefault(order.id, set()).add(order.driver_id)


def _drivers_of(session: AsyncSession, order_id: int) -> list[int]:
    drivers: dict[int, set[int]] = session.info.get(_DRIVERS, {})
    return sorted(drivers.get(order_id, ()))


async def append(session: AsyncSession, events: Sequence[OrderEvent]) -> None:
    """Store ``events`` in one flush; live views hear of them once the commit succeeds."""
    session.add_all(events)
    await session.flush()
    for event in events:
        _announce_after_commit(session, event)
    # Imported here: the notices module reaches tracking links, which record events.
    from backend.notifications.hook import on_order_events

    await on_order_events(session, events)  # the customer notices they call for
    await webhooks.enqueue_for_order_events(session, events)  # and the webhooks


def event_message(event: OrderEvent) -> dict[str, Any]:
    """The live message of ``event``, as published (and replayed by the event streams)."""
    return {
        "type": "order_event",
        "event_id": event.id,
        "order_id": event.order_id,
        "kind": event.kind,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "at": event.at.isoformat(),
    }


def _announce_after_commit(session: AsyncSession, event: OrderEvent) -> None:
    body = event_message(event)
    payload = orjson.dumps(body)
    after_commit(session, org_channel(event.org_id), payload)
    after_commit(session, order_channel(event.order_id), payload)
    drivers = _drivers_of(session, event.order_id)
    if drivers:
        to_driver = orjson.dumps({**body, "type": "order_changed"})
        for driver_id in drivers:
            after_commit(session, driver_channel(driver_id), to_driver)


def announce_deleted(session: AsyncSession, order: Order) -> None:
    """Once the deletion of ``order`` commits, its tracking pages and the dispatchers hear
    ``{"type": "order_deleted", "order_id"}``: a page still open stops showing it."""
    assert order.id is not None
    payload = orjson.dumps({"type": "order_deleted", "order_id": order.id})
    after_commit(session, org_channel(order.org_id), payload)
    after_commit(session, order_channel(order.id), payload)


async def record(
    session: AsyncSession,
    order: Order,
    kind: EventKind,
    actor: Principal | None,
    **fields: Any,
) -> OrderEvent:
    """Append one event to ``order``'s timeline (fields as for :func:`new_event`)."""
    note_driver(session, order)
    event = new_event(order, kind, actor, **fields)
    await append(session, [event])
    return event
