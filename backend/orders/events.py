"""Appending to an order's timeline and announcing it once committed."""

from typing import Any

import orjson
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.db import after_commit
from backend.models import Order, OrderEvent
from shared.channels import order_channel, org_channel
from shared.enums import EventKind, OrderStatus


async def record(
    session: AsyncSession,
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
    """Append an event to ``order``'s timeline; live views hear of it after the commit."""
    assert order.id is not None
    event = OrderEvent(
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
    session.add(event)
    await session.flush()
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
    return event
