"""Appending to an order's timeline and announcing it once committed."""

from collections.abc import Sequence
from typing import Any

import orjson
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.db import after_commit
from backend.models import Order, OrderEvent
from shared.channels import order_channel, org_channel
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


async def append(session: AsyncSession, events: Sequence[OrderEvent]) -> None:
    """Store ``events`` in one flush; live views hear of them once the commit succeeds."""
    session.add_all(events)
    await session.flush()
    for event in events:
        _announce_after_commit(session, event)


def _announce_after_commit(session: AsyncSession, event: OrderEvent) -> None:
    payload = orjson.dumps(
        {
            "type": "order_event",
            "event_id": event.id,
            "order_id": event.order_id,
            "kind": event.kind,
            "from_status": event.from_status,
            "to_status": event.to_status,
            "at": event.at.isoformat(),
        }
    )
    after_commit(session, org_channel(event.org_id), payload)
    after_commit(session, order_channel(event.order_id), payload)


async def record(
    session: AsyncSession,
    order: Order,
    kind: EventKind,
    actor: Principal | None,
    **fields: Any,
) -> OrderEvent:
    """Append one event to ``order``'s timeline (fields as for :func:`new_event`)."""
    event = new_event(order, kind, actor, **fields)
    await append(session, [event])
    return event
