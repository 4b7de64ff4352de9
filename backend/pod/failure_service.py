"""Recording a failed delivery and carrying out its follow-up (see ``backend.pod.failures``).

The failure event carries the reason, the note, the follow-up, the customer notice to send
and the sealed photos. The follow-up is a second event by the system (no actor): back to the
same driver's route today (the parcel is in their van) where the live-insertion optimiser
finds it cheapest once the re-attempt delay has passed, or at the end of the route when it
fits nowhere; rescheduled; or nothing (the parcel goes back to the depot). ``safe_place``
is not a failure for the order: it is delivered, with the reason and the photo on the
delivery event. ``client_id`` makes the report idempotent.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.errors import AppError, ConflictError, ForbiddenError
from backend.fleet.routes_service import update_route
from backend.models import Order, OrderEvent, Route, Stop
from backend.models.types import utcnow
from backend.notifications.outbox import Notices
from backend.optimization.dispatch import Placement, propose
from backend.orders import events, transitions
from backend.pod.failures import (
    NOTICES,
    FailureInputError,
    FollowUp,
    check_report,
    follow_up_for,
)
from backend.pod.photos import MAX_BYTES
from backend.pod.service import (
    InvalidProofError,
    delete_files,
    store_sealed,
    validate_photos,
)
from backend.pod.storage import ProofStore
from backend.routing.port import RoutingError
from backend.routing.router import RoadRouter
from shared.enums import EventKind, OrderStatus, StopKind
from shared.lifecycle import IllegalTransitionError, check_transition
from shared.schemas.fleet import RouteStopIn, RouteUpdate
from shared.schemas.orders import TransitionRequest

S = OrderStatus


@dataclass(slots=True)
class FailureInput:
    client_id: str
    reason: str
    note: str = ""
    photos: list[bytes] = field(default_factory=list)
    lat: float | None = None
    lng: float | None = None


async def _earlier(session: AsyncSession, order_id: int, client_id: str) -> dict[str, Any] | None:
    rows = await session.exec(
        select(OrderEvent).where(
            OrderEvent.order_id == order_id, OrderEvent.kind == EventKind.STATUS_CHANGED
        )
    )
    for event in rows.all():
        failure = event.details.get("failure")
        if isinstance(failure, dict) and failure.get("client_id") == client_id:
            return failure
    return None


def _answer(
    order_id: int, status: OrderStatus, failure: dict[str, Any], replayed: bool
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "status": status.value,
        "reason": failure["reason"],
        "follow_up": failure["follow_up"],
        "notice": failure["notice"],
        "replayed": replayed,
    }


async def record_failure(
    session: AsyncSession,
    store: ProofStore,
    principal: Principal,
    order: Order,
    report: FailureInput,
    follow_up_overrides: dict[str, str] | None = None,
    max_upload: int = MAX_BYTES,
    *,
    routing: RoadRouter | None = None,
    reattempt_after: timedelta = timedelta(hours=1),
    now: datetime | None = None,
    notices: Notices | None = None,
) -> dict[str, Any]:
    """Fail (or, for a safe place, deliver) ``order``; the answer for the driver app.
    ``routing`` places a same-day re-attempt on the road network (without it, or if the
    road engine fails, the re-attempt goes to the end of the route). ``notices`` queues
    the customer's notice for the follow-up in the same transaction."""
    assert order.id is not None
    earlier = await _earlier(session, order.id, report.client_id)
    if earlier is not None:  # a replay: the first answer, even if the order moved on since
        await session.refresh(order)
        return _answer(order.id, OrderStatus(order.status), earlier, replayed=True)
    if principal.driver_id is None or order.driver_id != principal.driver_id:
        raise ForbiddenError("only the driver delivering this order reports a failure")
    try:
        reason, follow_up = follow_up_for(report.reason, follow_up_overrides)
        check_report(reason, follow_up, report.note, len(report.photos))
    except FailureInputError as exc:
        raise InvalidProofError(str(exc)) from None
    target = S.DELIVERED if follow_up is FollowUp.SAFE_PLACE else S.FAILED
    try:
        check_transition(OrderStatus(order.status), target, has_pickup=False)
    except IllegalTransitionError as exc:
        raise ConflictError(
            f"{exc}; nothing was recorded",
            code="illegal_transition",
            details={"current": order.status, "requested": target},
        ) from exc
    photos = validate_photos(report.photos, max_bytes=max(MAX_BYTES, max_upload))

    files: dict[str, bytes] = {}
    for i, photo in enumerate(photos, start=1):
        files[f"failure-photo-{i}.jpg"] = photo.stored
        files[f"failure-photo-{i}-display.jpg"] = photo.display
    metadata: dict[str, Any] = {
        "order_id": order.id,
        "client_id": report.client_id,
        "driver_id": principal.driver_id,
        "reason": reason.value,
        "note": report.note,
        "app_fix": [report.lat, report.lng] if report.lat is not None else None,
    }
    prefix = f"orders/{order.org_id}/{order.id}/{report.client_id}"
    keys, sealed = await store_sealed(store, prefix, files, metadata)
    failure = {
        "client_id": report.client_id,
        "reason": reason.value,
        "note": report.note,
        "follow_up": follow_up.value,
        "notice": NOTICES[follow_up],
        "files": keys,
        "seal": sealed.as_dict(),
        "metadata": metadata,
    }
    request = TransitionRequest(to=target, reason=reason.value, lat=report.lat, lng=report.lng)
    try:
        await transitions.transition(session, principal, order, request, {"failure": failure})
        if follow_up is FollowUp.REATTEMPT_TODAY:
            when = (now or datetime.now(UTC)) + reattempt_after
            await _back_to_driver(session, principal, order, routing, when, now)
        elif follow_up is FollowUp.NEXT_DAY:
            await _system_move(session, order, S.RESCHEDULED, follow_up)
        if notices is not None:
            dedupe = f"order:{order.id}:failure:{report.client_id}"
            await notices.queue(session, order, NOTICES[follow_up], dedupe, reason=reason.value)
        await session.flush()
    except BaseException:
        await delete_files(store, keys)
        raise
    return _answer(order.id, OrderStatus(order.status), failure, replayed=False)


async def _system_move(
    session: AsyncSession,
    order: Order,
    target: OrderStatus,
    follow_up: FollowUp,
    more: dict[str, Any] | None = None,
) -> None:
    """A follow-up status change made by the platform itself (no actor on the event)."""
    current = OrderStatus(order.status)
    values: dict[str, Any] = {"status": target, "updated_at": utcnow()}
    if target is S.RESCHEDULED:
        values["driver_id"] = None
    await session.exec(update(Order).where(col(Order.id) == order.id).values(**values))
    stops = (await session.exec(select(Stop).where(Stop.order_id == order.id))).all()
    for stop in stops:
        if target is S.RESCHEDULED:
            stop.route_id = stop.sequence = stop.planned_arrival_at = None
        session.add(stop)
    await session.flush()
    await session.refresh(order)
    await events.record(
        session,
        order,
        EventKind.STATUS_CHANGED,
        None,
        from_status=current,
        to_status=target,
        details={"follow_up": follow_up.value, **(more or {})},
    )


async def _back_to_driver(
    session: AsyncSession,
    principal: Principal,
    order: Order,
    routing: RoadRouter | None,
    not_before: datetime,
    now: datetime | None,
) -> None:
    """Reattempt today: the same driver's route, where the insertion optimiser finds it
    cheapest for a visit no earlier than ``not_before`` (waiting counts as driving, so it
    lands where the route passes by then); at the end of the route if it fits nowhere."""
    assert order.id is not None
    dropoff = (
        await session.exec(
            select(Stop).where(Stop.order_id == order.id, Stop.kind == StopKind.DROPOFF)
        )
    ).first()
    placed: Placement | None = None
    if dropoff is None or dropoff.route_id is None:
        why = "its drop-off is on no route"
    elif routing is None:
        why = "no road engine"
    else:
        try:
            placed = await propose(
                session,
                routing,
                principal,
                order.id,
                now=now,
                only_route=dropoff.route_id,
                not_before=not_before,
            )
        except (AppError, RoutingError) as error:  # the follow-up still happens
            why = str(error)
        else:
            why = placed.reason or ""
    if dropoff is not None:
        dropoff.actual_arrival_at = dropoff.actual_departure_at = None
        dropoff.planned_arrival_at = None
        session.add(dropoff)
    if placed is not None and placed.route_id is not None:
        await _system_move(
            session, order, S.ASSIGNED, FollowUp.REATTEMPT_TODAY, {"placed": "optimised"}
        )
        route = await session.get(Route, placed.route_id)
        assert route is not None
        current = (await session.exec(select(Stop).where(Stop.route_id == route.id))).all()
        planned = {s.id: s.planned_arrival_at for s in current} | dict(placed.arrivals)
        stops = [RouteStopIn(stop_id=i, planned_arrival_at=planned.get(i)) for i in placed.stop_ids]
        await update_route(session, principal, route, RouteUpdate(stops=stops))
        return
    on_route = dropoff is not None and dropoff.route_id is not None
    if dropoff is not None and dropoff.route_id is not None:
        last = (
            await session.exec(
                select(func.max(Stop.sequence)).where(Stop.route_id == dropoff.route_id)
            )
        ).first()
        dropoff.sequence = (last or 0) + 1
        session.add(dropoff)
    await _system_move(
        session,
        order,
        S.ASSIGNED,
        FollowUp.REATTEMPT_TODAY,
        {"placed": "end_of_route" if on_route else "unrouted", "why": why},
    )
