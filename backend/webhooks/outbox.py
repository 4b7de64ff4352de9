"""Queueing webhook deliveries in the caller's transaction (the outbox).

A delivery is written to ``webhook_deliveries`` in the same transaction as the event it
tells of, so it exists if and only if that change was committed; the worker
(:mod:`backend.webhooks.worker`) POSTs it afterwards. One row per enabled endpoint of the
organisation subscribed to the event's type.

Where events come from: :func:`enqueue_for_order_events` from
``backend.orders.events.append`` (every order event), :func:`enqueue_driver_status` from
the driver routes, :func:`enqueue_route_published` from the route service. How long to
retry and how to wake the worker come from :func:`bind` (done in ``lifespan``); a session
on an engine nobody bound still queues, with the default window, and the worker finds the
rows at its next poll.
"""

import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.db import after_commit_do
from backend.models import Driver, Order, OrderEvent, Route, WebhookDelivery, WebhookEndpoint
from backend.models.types import utcnow
from backend.webhooks.event_types import envelope, types_for_order_event
from shared.enums import DriverStatus, RouteStatus, WebhookEventType

Wake = Callable[[], Awaitable[None]]
DEFAULT_RETRY_FOR = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Binding:
    retry_for: timedelta = DEFAULT_RETRY_FOR
    wake: Wake | None = None


_BOUND: "WeakKeyDictionary[Engine, Binding]" = WeakKeyDictionary()


def bind(engine: AsyncEngine, binding: Binding) -> None:
    """Deliveries queued by sessions on ``engine`` retry for ``binding.retry_for`` and
    wake ``binding.wake`` once their transaction commits."""
    _BOUND[engine.sync_engine] = binding


def _binding(session: AsyncSession) -> Binding:
    bound = session.bind
    if bound is None:
        return Binding()
    engine = bound.engine if isinstance(bound, AsyncConnection) else bound
    return _BOUND.get(engine.sync_engine, Binding())


def wake_after_commit(session: AsyncSession) -> None:
    """Have the worker look as soon as this transaction commits (a manual retry)."""
    wake = _binding(session).wake
    if wake is not None:
        after_commit_do(session, wake)


def new_event_id() -> str:
    return f"evt_{secrets.token_hex(12)}"


async def enqueue(
    session: AsyncSession,
    org_id: int,
    event_type: WebhookEventType,
    data: Mapping[str, Any],
    *,
    endpoints: Sequence[WebhookEndpoint] | None = None,
    at: datetime | None = None,
) -> list[WebhookDelivery]:
    """One delivery of the event to each enabled endpoint of ``org_id`` subscribed to
    ``event_type`` (or to exactly ``endpoints``, subscribed or not: the test ping)."""
    if endpoints is None:
        endpoints = [e for e in await _enabled(session, org_id) if event_type in e.event_types]
    if not endpoints:
        return []
    binding = _binding(session)
    now = at or utcnow()
    event_id = new_event_id()
    body = envelope(event_id, event_type, org_id, now, data)
    rows = []
    for endpoint in endpoints:
        assert endpoint.id is not None
        rows.append(
            WebhookDelivery(
                org_id=org_id,
                endpoint_id=endpoint.id,
                event_id=event_id,
                event_type=event_type,
                payload=body,
                next_attempt_at=now,
                give_up_at=now + binding.retry_for,
                created_at=now,
            )
        )
    session.add_all(rows)
    await session.flush()
    wake_after_commit(session)
    return rows


async def _enabled(session: AsyncSession, org_id: int) -> list[WebhookEndpoint]:
    found = await session.exec(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.org_id == org_id, col(WebhookEndpoint.enabled).is_(True))
        .order_by(col(WebhookEndpoint.id))
    )
    return list(found.all())


async def enqueue_for_order_events(session: AsyncSession, events: Sequence[OrderEvent]) -> None:
    """The webhook deliveries ``events`` (just flushed) call for, in their order."""
    wanted = [
        (event, kind)
        for event in events
        for kind in types_for_order_event(event.kind, event.to_status, event.details or {})
    ]
    if not wanted:
        return  # most events (ETA changes) are no webhook event: no query at all
    endpoints: dict[int, list[WebhookEndpoint]] = {}
    for event, kind in wanted:
        if event.org_id not in endpoints:
            endpoints[event.org_id] = await _enabled(session, event.org_id)
        subscribed = [e for e in endpoints[event.org_id] if kind in e.event_types]
        if not subscribed:
            continue
        order = await session.get(Order, event.order_id)
        await enqueue(
            session,
            event.org_id,
            kind,
            order_event_data(event, order),
            endpoints=subscribed,
            at=event.at,
        )


def order_event_data(event: OrderEvent, order: Order | None) -> dict[str, Any]:
    return {
        "order_id": event.order_id,
        "reference": order.reference if order else None,
        "status": order.status if order else event.to_status,
        "driver_id": order.driver_id if order else None,
        "order_event_id": event.id,
        "kind": event.kind,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "at": event.at.isoformat(),
        "actor_role": event.actor_role,
        "lat": event.lat,
        "lng": event.lng,
        "details": event.details or {},
    }


async def enqueue_driver_status(
    session: AsyncSession, driver: Driver, previous: DriverStatus
) -> None:
    """``driver.status_changed`` when ``driver``'s status is no longer ``previous``."""
    if driver.status == previous:
        return
    data = {
        "driver_id": driver.id,
        "name": driver.name,
        "from_status": previous,
        "to_status": driver.status,
    }
    await enqueue(session, driver.org_id, WebhookEventType.DRIVER_STATUS_CHANGED, data)


async def enqueue_route_published(
    session: AsyncSession, route: Route, previous: RouteStatus | None
) -> None:
    """``route.published`` when ``route`` became published (``previous``: its status
    before the change; None for a new route)."""
    if route.status != RouteStatus.PUBLISHED or previous == RouteStatus.PUBLISHED:
        return
    data = {
        "route_id": route.id,
        "driver_id": route.driver_id,
        "vehicle_id": route.vehicle_id,
        "service_date": route.service_date.isoformat(),
        "status": route.status,
    }
    await enqueue(session, route.org_id, WebhookEventType.ROUTE_PUBLISHED, data)
