"""The dispatcher's exception inbox: what needs a person's eyes, read from the timeline
(order and driver events) and from the drivers' last positions (silent drivers).

:func:`exceptions` lists the timeline's items as plain dicts; :func:`inbox` adds the
silent drivers, what the app shows with each item (the order's reference and recipient,
the driver's name and phone, the actions), and leaves out what was marked resolved
(:mod:`backend.pod.inbox_resolve`)."""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Driver, DriverEvent, Order, OrderEvent, Route
from backend.pod.inbox_resolve import resolutions_of
from backend.pod.inbox_rules import (
    CUSTOMER_KINDS,
    RouteSpan,
    actions_for,
    driver_event_key,
    on_shift,
    order_event_key,
    silent_drivers,
    silent_key,
)
from shared.enums import DriverEventKind, DriverStatus, EventKind, OrderStatus, RouteStatus
from shared.schemas.exceptions import ExceptionItem, ResolutionOut
from shared.schemas.exceptions import ExceptionKind as K

_SCAN = 2_000  # recent delivery/failure events looked at per request


def _item(event: OrderEvent) -> dict[str, Any] | None:
    item = _order_item(event)
    if item is not None:
        assert event.id is not None
        item["key"] = order_event_key(K(item["kind"]), event.order_id, event.id)
    return item


def _order_item(event: OrderEvent) -> dict[str, Any] | None:
    if event.kind == EventKind.LEFT_WITHOUT_PROOF:
        return {
            "kind": "left_without_proof",
            "order_id": event.order_id,
            "at": event.at,
            "stop_id": event.details.get("stop_id"),
            "lat": event.lat,
            "lng": event.lng,
        }
    if event.kind == EventKind.CUSTOMER_REQUEST:
        request = event.details.get("request") or {}
        return {
            "kind": "customer_request",
            "order_id": event.order_id,
            "at": event.at,
            "instructions": request.get("instructions"),
            "option": request.get("option"),
        }
    if event.kind == EventKind.LATE_RISK:
        return {
            "kind": "late_risk",
            "order_id": event.order_id,
            "at": event.at,
            "stop_id": event.details.get("stop_id"),
            "eta": event.details.get("eta"),
            "window_end": event.details.get("window_end"),
            "late_by_s": event.details.get("late_by_s"),
        }
    failure = event.details.get("failure")
    if not isinstance(failure, dict) and event.to_status == OrderStatus.FAILED:
        failure = {"reason": event.details.get("reason")}  # failed by hand, not reported
    if isinstance(failure, dict):
        return {
            "kind": "failed_delivery",
            "order_id": event.order_id,
            "at": event.at,
            "status": event.to_status,
            "reason": failure.get("reason"),
            "note": failure.get("note"),
            "follow_up": failure.get("follow_up"),
            "driver_user_id": event.actor_user_id,
        }
    pod = event.details.get("pod")
    place = pod.get("metadata", {}).get("place", {}) if isinstance(pod, dict) else {}
    if place.get("flagged"):
        distance = place.get("distance_m")
        return {
            "kind": "proof_far_from_address" if distance is not None else "proof_without_position",
            "order_id": event.order_id,
            "at": event.at,
            "status": event.to_status,
            "distance_m": distance,
            "radius_m": place.get("radius_m"),
            "driver_user_id": event.actor_user_id,
        }
    return None


async def exceptions(session: AsyncSession, org_id: int, limit: int) -> list[dict[str, Any]]:
    """The timeline's items of ``org_id``, newest first, at most ``limit``; each with its
    stable ``key``."""
    rows = await session.exec(
        select(OrderEvent)
        .where(
            OrderEvent.org_id == org_id,
            or_(
                col(OrderEvent.kind).in_(
                    [EventKind.LEFT_WITHOUT_PROOF, EventKind.LATE_RISK, EventKind.CUSTOMER_REQUEST]
                ),
                (col(OrderEvent.kind) == EventKind.STATUS_CHANGED)
                & col(OrderEvent.to_status).in_([OrderStatus.FAILED, OrderStatus.DELIVERED]),
            ),
        )
        .order_by(col(OrderEvent.id).desc())
        .limit(_SCAN)
    )
    items = [item for e in rows.all() if (item := _item(e)) is not None]
    off_route = await session.exec(
        select(DriverEvent)
        .where(DriverEvent.org_id == org_id, DriverEvent.kind == DriverEventKind.OFF_ROUTE)
        .order_by(col(DriverEvent.id).desc())
        .limit(limit)
    )
    items += [
        {
            "key": driver_event_key(K.OFF_ROUTE, e.driver_id, e.id or 0),
            "kind": "off_route",
            "driver_id": e.driver_id,
            "at": e.at,
            "lat": e.lat,
            "lng": e.lng,
            "distance_m": e.details.get("distance_m"),
        }
        for e in off_route.all()
    ]
    items.sort(key=lambda item: item["at"], reverse=True)
    return items[:limit]


async def inbox(
    session: AsyncSession,
    org_id: int,
    *,
    last_fixes: Mapping[int, float],
    now: datetime,
    silent_after_s: float,
    include_resolved: bool = False,
) -> list[ExceptionItem]:
    """Every item of ``org_id``'s inbox, newest first (silent drivers are dated by their
    last fix): the timeline's items, plus working drivers whose newest fix in
    ``last_fixes`` (driver id -> epoch seconds) is older than ``silent_after_s`` at
    ``now``. Items marked resolved are left out unless ``include_resolved``."""
    items = await exceptions(session, org_id, _SCAN)
    working = on_shift(*await _shift_facts(session, org_id, now), now)
    for silence in silent_drivers(working, last_fixes, now.timestamp(), silent_after_s):
        last = silence.last_fix_s
        items.append(
            {
                "key": silent_key(silence.driver_id, last),
                "kind": K.DRIVER_SILENT.value,
                "driver_id": silence.driver_id,
                "at": datetime.fromtimestamp(last, UTC) if last is not None else now,
                "last_fix_at": datetime.fromtimestamp(last, UTC) if last is not None else None,
                "silent_s": round(silence.silent_s, 1) if silence.silent_s is not None else None,
            }
        )
    items.sort(key=lambda item: item["at"], reverse=True)
    resolutions = await resolutions_of(session, org_id, [i["key"] for i in items])
    if not include_resolved:
        items = [i for i in items if i["key"] not in resolutions]
    orders, drivers, by_user = await _people(session, org_id, items)
    return [_described(i, orders, drivers, by_user, resolutions.get(i["key"])) for i in items]


async def _shift_facts(
    session: AsyncSession, org_id: int, now: datetime
) -> tuple[dict[int, DriverStatus], list[RouteSpan]]:
    statuses = dict(
        (await session.exec(select(Driver.id, Driver.status).where(Driver.org_id == org_id))).all()
    )
    today = now.astimezone(UTC).date()
    rows = await session.exec(
        select(Route).where(
            Route.org_id == org_id,
            col(Route.status).in_([RouteStatus.PUBLISHED, RouteStatus.IN_PROGRESS]),
            col(Route.service_date) >= today - timedelta(days=1),
            col(Route.service_date) <= today + timedelta(days=1),
        )
    )
    routes = [
        RouteSpan(
            r.driver_id, RouteStatus(r.status), r.service_date, r.planned_start_at, r.planned_end_at
        )
        for r in rows.all()
    ]
    return {d: DriverStatus(s) for d, s in statuses.items() if d is not None}, routes


async def _people(
    session: AsyncSession, org_id: int, items: list[dict[str, Any]]
) -> tuple[dict[int, Order], dict[int, Driver], dict[int, Driver]]:
    """The orders and drivers the items are about (drivers also by their user id)."""
    order_ids = {i["order_id"] for i in items if i.get("order_id") is not None}
    orders: dict[int, Order] = {}
    if order_ids:
        found = await session.exec(
            select(Order).where(Order.org_id == org_id, col(Order.id).in_(order_ids))
        )
        orders = {o.id: o for o in found.all() if o.id is not None}
    driver_rows = (await session.exec(select(Driver).where(Driver.org_id == org_id))).all()
    drivers = {d.id: d for d in driver_rows if d.id is not None}
    by_user = {d.user_id: d for d in driver_rows if d.user_id is not None}
    return orders, drivers, by_user


def _described(
    item: dict[str, Any],
    orders: Mapping[int, Order],
    drivers: Mapping[int, Driver],
    by_user: Mapping[int, Driver],
    resolution: ResolutionOut | None,
) -> ExceptionItem:
    kind = K(item["kind"])
    order = orders.get(item["order_id"]) if item.get("order_id") is not None else None
    driver = None
    if item.get("driver_id") is not None:
        driver = drivers.get(item["driver_id"])
    elif item.get("driver_user_id") is not None:  # the driver who reported it
        driver = by_user.get(item["driver_user_id"])
    if driver is None and order is not None and order.driver_id is not None:
        driver = drivers.get(order.driver_id)
    customer_first = kind in CUSTOMER_KINDS and order is not None
    contact_name = (
        order.recipient_name if customer_first and order else driver.name if driver else None
    )
    contact_phone = (
        order.recipient_phone if customer_first and order else driver.phone if driver else None
    )
    status = OrderStatus(order.status) if order is not None else None
    return ExceptionItem.model_validate(
        {
            **item,
            "actions": actions_for(kind, status, contact_phone),
            "order_reference": order.reference if order else None,
            "order_status": status,
            "recipient_name": order.recipient_name if order else None,
            "recipient_phone": order.recipient_phone if order else None,
            "driver_id": driver.id if driver else item.get("driver_id"),
            "driver_name": driver.name if driver else None,
            "driver_phone": driver.phone if driver else None,
            "contact_name": contact_name,
            "contact_phone": contact_phone,
            "resolved": resolution,
        }
    )
