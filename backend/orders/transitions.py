"""Applying a status change: who may, whether the lifecycle allows it, what it touches."""

from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.errors import BadRequestError, ConflictError, ForbiddenError
from backend.models import Driver, Order, OrderEvent, Stop
from backend.models.types import utcnow
from backend.orders import events
from backend.tracking_links.service import end_links_after_finish
from shared.enums import EventKind, OrderStatus, StopKind
from shared.lifecycle import DRIVER_TARGETS, TERMINAL, IllegalTransitionError, check_transition
from shared.schemas.orders import TransitionRequest

S = OrderStatus
# Leaving the plan: the order's stops come off whatever route held them.
_UNPLANNED = frozenset({S.CREATED, S.CANCELLED, S.RESCHEDULED})


async def transition(
    session: AsyncSession,
    principal: Principal,
    order: Order,
    request: TransitionRequest,
    details: dict[str, Any] | None = None,
) -> Order:
    """Move ``order`` to ``request.to`` and append the event, or raise (409 when illegal).
    ``details`` go on the event too (a proof of delivery's seal, say)."""
    assert order.id is not None
    target = request.to
    if request.client_id is not None and await _already_done(session, order.id, request.client_id):
        await session.refresh(order)
        return order  # a replay (the phone's offline queue): answered, never done twice
    if principal.driver_id is not None and target not in DRIVER_TARGETS:
        raise ForbiddenError(f"drivers cannot move an order to '{target}'; dispatch does that")
    stops = list((await session.exec(select(Stop).where(Stop.order_id == order.id))).all())
    has_pickup = any(s.kind == StopKind.PICKUP for s in stops)
    current = OrderStatus(order.status)
    try:
        check_transition(current, target, has_pickup=has_pickup)
    except IllegalTransitionError as exc:
        raise ConflictError(
            str(exc),
            code="illegal_transition",
            details={"current": current, "requested": target},
        ) from exc

    driver_id = order.driver_id
    if target is S.ASSIGNED:
        driver_id = request.driver_id or order.driver_id
        if driver_id is None:
            raise BadRequestError("say which driver: 'driver_id' is needed to assign an order")
        driver = await session.get(Driver, driver_id)
        if driver is None or driver.org_id != order.org_id:
            raise BadRequestError(f"driver {driver_id} does not exist in this organisation")
    elif request.driver_id is not None:
        raise BadRequestError("'driver_id' is only accepted when assigning")
    if target in _UNPLANNED:
        driver_id = None

    now = utcnow()
    # Compare-and-set on the status: of two racing changes, the second gets a 409.
    if not await _set_status(session, order, stops, current, target, now, driver_id=driver_id):
        raise ConflictError(f"order {order.id} changed meanwhile; reload and try again")
    await events.record(
        session,
        order,
        EventKind.STATUS_CHANGED,
        principal,
        from_status=current,
        to_status=target,
        lat=request.lat,
        lng=request.lng,
        details={
            **{
                k: v
                for k, v in {
                    "reason": request.reason,
                    "driver_id": driver_id,
                    "client_id": request.client_id,
                }.items()
                if v
            },
            **(details or {}),
        },
    )
    return order


async def system_transition(
    session: AsyncSession,
    order: Order,
    target: OrderStatus,
    *,
    expected: OrderStatus,
    observed_at: datetime,
    lat: float | None = None,
    lng: float | None = None,
    details: dict[str, Any] | None = None,
) -> bool:
    """Move ``order`` from ``expected`` to ``target`` because of something seen at
    ``observed_at`` (a GPS fix), with no one's hand on it. Refused (False) when the order
    is no longer ``expected`` or anybody changed it after ``observed_at``: a person's
    confirmation is never overwritten by a late fix. The event has no actor."""
    assert order.id is not None
    if OrderStatus(order.status) is not expected:
        return False
    changed_at = await last_status_change(session, order.id)
    if changed_at is not None and changed_at > observed_at:
        return False
    stops = list((await session.exec(select(Stop).where(Stop.order_id == order.id))).all())
    has_pickup = any(s.kind == StopKind.PICKUP for s in stops)
    try:
        check_transition(expected, target, has_pickup=has_pickup)
    except IllegalTransitionError:
        return False
    now = utcnow()
    if not await _set_status(session, order, stops, expected, target, now):
        return False
    await events.record(
        session,
        order,
        EventKind.STATUS_CHANGED,
        None,
        from_status=expected,
        to_status=target,
        lat=lat,
        lng=lng,
        details={"source": "geofence", **(details or {})},
    )
    return True


async def _set_status(
    session: AsyncSession,
    order: Order,
    stops: list[Stop],
    current: OrderStatus,
    target: OrderStatus,
    now: datetime,
    **also: Any,
) -> bool:
    """Compare-and-set ``current → target`` (False: someone changed it first), then the
    stops' actual times."""
    events.note_driver(session, order)  # unassigning: the driver it leaves hears of it too
    result = await session.exec(
        update(Order)
        .where(col(Order.id) == order.id, col(Order.status) == current)
        .values(status=target, updated_at=now, **also)
    )
    if result.rowcount != 1:
        return False
    await session.refresh(order)
    for stop in stops:
        _touch_stop(stop, target, now)
        session.add(stop)
    if target in TERMINAL:
        await end_links_after_finish(session, order, now)
    return True


async def last_status_change(session: AsyncSession, order_id: int) -> datetime | None:
    """When ``order_id``'s status last changed (its creation if never)."""
    result = await session.exec(
        select(func.max(OrderEvent.at)).where(
            OrderEvent.order_id == order_id,
            col(OrderEvent.kind).in_([EventKind.STATUS_CHANGED, EventKind.CREATED]),
        )
    )
    return result.one()


async def _already_done(session: AsyncSession, order_id: int, client_id: str) -> bool:
    rows = await session.exec(
        select(OrderEvent).where(
            OrderEvent.order_id == order_id, OrderEvent.kind == EventKind.STATUS_CHANGED
        )
    )
    return any(e.details.get("client_id") == client_id for e in rows.all())


def _touch_stop(stop: Stop, target: OrderStatus, now_at: datetime) -> None:
    """Record actual times on the stop and take it off its route when unplanned."""
    if target in _UNPLANNED:
        stop.route_id = None
        stop.sequence = None
        stop.planned_arrival_at = None
        return
    if stop.kind == StopKind.PICKUP and target is S.PICKED_UP:
        stop.actual_arrival_at = stop.actual_arrival_at or now_at
        stop.actual_departure_at = now_at
    if stop.kind == StopKind.DROPOFF and target in (S.DELIVERED, S.FAILED):
        stop.actual_arrival_at = stop.actual_arrival_at or now_at
        stop.actual_departure_at = now_at
