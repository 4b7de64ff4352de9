"""Where order changes become customer notices (the triggers; see
:mod:`backend.notifications.triggers`).

* :func:`on_order_events`: every appended order event (``backend.orders.events.append``)
  for ``scheduled``, ``out_for_delivery``, ``delivered`` and ``rescheduled``;
* :func:`on_route_published`: a route published (or changed while published) schedules
  the assigned orders on it;
* :func:`on_etas`: the live ETAs, for ``arriving``.

Each runs in the caller's transaction, so the notice exists if and only if the change
does. The :class:`~backend.notifications.outbox.Notices` of the application is found
through the session's engine (:func:`bind`, done in ``lifespan``); a session on an engine
nobody bound (a migration script, a test without the app) queues nothing.
"""

import math
import secrets
from collections.abc import Sequence
from datetime import timedelta
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Order, OrderEvent, Route, Stop, TrackingLink
from backend.models.types import utcnow
from backend.notifications.outbox import Notices
from backend.notifications.prefs import Prefs, prefs_of
from backend.notifications.triggers import (
    TEMPLATE,
    Trigger,
    arriving_due,
    dedupe_key,
    trigger_for,
)
from shared.enums import EventKind, OrderStatus, RouteStatus, StopKind

_BOUND: "WeakKeyDictionary[Engine, Notices]" = WeakKeyDictionary()
PUBLISHED = (RouteStatus.PUBLISHED, RouteStatus.IN_PROGRESS)
_ARRIVING_LOOKAHEAD_S = 120 * 60.0  # the largest arriving_minutes allowed
_ON_THE_WAY = (OrderStatus.EN_ROUTE, OrderStatus.ARRIVING)
TOKEN_BYTES = 24


def bind(engine: AsyncEngine, notices: Notices) -> None:
    """Sessions on ``engine`` queue notices with ``notices``."""
    _BOUND[engine.sync_engine] = notices


def notices_for(session: AsyncSession) -> Notices | None:
    bound = session.bind
    if bound is None:
        return None
    engine = getattr(bound, "sync_engine", bound)  # an AsyncEngine or AsyncConnection
    return _BOUND.get(engine) if isinstance(engine, Engine) else None


async def on_order_events(session: AsyncSession, events: Sequence[OrderEvent]) -> None:
    """Queue the notices ``events`` call for (at most one per event)."""
    notices = notices_for(session)
    if notices is None:
        return
    for event in events:
        if event.to_status is None:
            continue
        trigger = trigger_for(
            EventKind(event.kind), OrderStatus(event.to_status), event.details or {}
        )
        if trigger is None:
            continue
        order = await session.get(Order, event.order_id)
        if order is None:
            continue
        if trigger is Trigger.SCHEDULED:
            await _schedule(session, notices, order)
            continue
        # Delivered once per order; the others per change (a second run out, a second
        # rescheduling); a replayed request appends no second event, so no second notice.
        occasion = "" if trigger is Trigger.DELIVERED else str(event.id)
        assert order.id is not None
        await notices.queue(
            session, order, TEMPLATE[trigger], dedupe_key(order.id, trigger, occasion)
        )


async def on_route_published(session: AsyncSession, route: Route) -> None:
    """``route`` is published: tell the customers of its assigned orders (once each)."""
    notices = notices_for(session)
    if notices is None or route.status not in PUBLISHED:
        return
    on_route = select(Stop.order_id).where(Stop.route_id == route.id)
    orders = await session.exec(
        select(Order)
        .where(col(Order.id).in_(on_route), Order.status == OrderStatus.ASSIGNED)
        .order_by(col(Order.id))
    )
    for order in orders.all():
        await _schedule(session, notices, order)


async def _schedule(session: AsyncSession, notices: Notices, order: Order) -> None:
    """The ``scheduled`` notice, if the order's drop-off is on a published route; once
    per order and service date."""
    assert order.id is not None
    route = (
        await session.exec(
            select(Route)
            .join(Stop, col(Stop.route_id) == col(Route.id))
            .where(Stop.order_id == order.id)
            .order_by(col(Stop.kind) == StopKind.DROPOFF)  # the drop-off's route last
        )
    ).all()
    if not route or route[-1].status not in PUBLISHED:
        return
    service_date = route[-1].service_date.isoformat()
    prefs = await prefs_of(session, order.org_id)
    if Trigger.SCHEDULED not in prefs.enabled:
        return
    if prefs.auto_tracking_links and (order.recipient_phone or order.recipient_email):
        await _ensure_link(session, notices, order, prefs)
    key = dedupe_key(order.id, Trigger.SCHEDULED, service_date)
    await notices.queue(session, order, TEMPLATE[Trigger.SCHEDULED], key)


async def _ensure_link(session: AsyncSession, notices: Notices, order: Order, prefs: Prefs) -> None:
    """A live tracking link for the scheduled notice, made when the order has none and
    the organisation asked for it (``auto_tracking_links``); on the timeline like one a
    dispatcher makes."""
    live = (
        await session.exec(
            select(TrackingLink.id).where(
                TrackingLink.order_id == order.id,
                col(TrackingLink.revoked).is_(False),
                TrackingLink.expires_at > utcnow(),
            )
        )
    ).first()
    if live is not None:
        return
    from backend.orders import events  # events calls this module: imported when used

    assert order.id is not None
    hours = notices.settings.tracking_link_ttl_h
    session.add(
        TrackingLink(
            org_id=order.org_id,
            order_id=order.id,
            token=secrets.token_urlsafe(TOKEN_BYTES),
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    await session.flush()
    await events.record(
        session,
        order,
        EventKind.TRACKING_LINK_CREATED,
        None,
        details={"ttl_hours": hours, "source": "notifications"},
    )


async def on_etas(
    session: AsyncSession, etas: Sequence[tuple[int, int, float]], now_s: float
) -> None:
    """``etas``: (order_id, stop_id, eta as epoch seconds) just computed. An order on its
    way whose drop-off ETA came within its organisation's ``arriving_minutes`` gets the
    ``arriving`` notice, once."""
    notices = notices_for(session)
    if notices is None:
        return
    prefs: dict[int, Prefs] = {}
    for order_id, stop_id, eta_s in etas:
        if not 0.0 <= eta_s - now_s <= _ARRIVING_LOOKAHEAD_S:
            continue
        stop = await session.get(Stop, stop_id)
        order = await session.get(Order, order_id)
        if stop is None or order is None or stop.kind != StopKind.DROPOFF:
            continue
        if OrderStatus(order.status) not in _ON_THE_WAY:
            continue
        if order.org_id not in prefs:
            prefs[order.org_id] = await prefs_of(session, order.org_id)
        found = prefs[order.org_id]
        if Trigger.ARRIVING not in found.enabled:
            continue
        if not arriving_due(eta_s, now_s, found.arriving_minutes):
            continue
        minutes = max(1, math.ceil((eta_s - now_s) / 60.0))
        await notices.queue(
            session,
            order,
            TEMPLATE[Trigger.ARRIVING],
            dedupe_key(order_id, Trigger.ARRIVING),
            extra={"minutes_away": minutes},
        )
