import asyncio
from typing import Literal

from fastapi import APIRouter, Request, Response
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.deps import SessionDep, StateDep
from backend.errors import ConflictError, NotFoundError, UnprocessableError
from backend.kpis.track_views import record_view
from backend.models import Order, OrderEvent, Organization, Stop
from backend.models.types import utcnow
from backend.orders import events
from backend.pod.router import proof_store
from backend.responses import ERRORS
from backend.state import AppState
from backend.tracking_links import service
from backend.tracking_links.self_service import (
    FINISHED,
    ON_THE_WAY,
    InstructionOption,
    SelfServiceError,
    can_change_window,
    instruction_text,
    offered_slots,
)
from backend.tracking_links.view_parts import delivery_event, proof_photo_key
from shared.enums import EventKind, OrderStatus, StopKind
from shared.schemas.tracking import (
    InstructionsChange,
    RatingIn,
    RatingOut,
    SelfServiceResult,
    SlotOut,
    TrackingView,
    WindowChange,
)

router = APIRouter(prefix="/track", tags=["tracking"])


@router.get(
    "/{token}",
    response_model=TrackingView,
    responses={
        **ERRORS(404),
        410: {"description": "The link has expired"},
        429: {"description": "Too many unknown tracking links tried from this address"},
    },
)
async def track(token: str, request: Request, session: SessionDep, state: StateDep) -> TrackingView:
    """The public view of one order through its tracking token. No sign-in needed.

    ``driver_position`` is the driver's approximate position (a ~100 m grid cell around a
    smoothed track, never the raw fix), only while this order is the driver's current or
    next stop; otherwise null. Live updates: the WebSocket ``/api/v1/track/{token}/ws``.
    Each read counts towards the page's visits (``GET /kpis``, ``backend.kpis``)."""
    link = await service.resolve(session, token, state.guesses, caller(request))
    view = await service.view_for_link(
        session, link, locate=state.fanout.customer_position, settings=state.settings
    )
    await record_view(session, link, caller(request), state.settings.secret_key)
    return view


def caller(request: Request) -> str | None:
    """The client's address (behind a trusted proxy, the one it forwarded)."""
    return request.client.host if request.client else None


async def _order_and_dropoff(
    session: AsyncSession, token: str, state: AppState, request: Request
) -> tuple[Order, Stop]:
    link = await service.resolve(session, token, state.guesses, caller(request))
    order = await session.get(Order, link.order_id)
    assert order is not None
    stops = (await session.exec(select(Stop).where(Stop.order_id == order.id))).all()
    dropoff = next((s for s in stops if s.kind == StopKind.DROPOFF), None)
    if dropoff is None:
        raise ConflictError("this order has no delivery address to change")
    return order, dropoff


def _result(
    outcome: Literal["applied", "requested"], message: str, order: Order, dropoff: Stop
) -> SelfServiceResult:
    return SelfServiceResult(
        outcome=outcome,
        message=message,
        instructions=order.instructions,
        window_start=dropoff.window_start,
        window_end=dropoff.window_end,
    )


@router.put(
    "/{token}/instructions",
    response_model=SelfServiceResult,
    responses={**ERRORS(404, 409, 422), 410: {"description": "The link has expired"}},
)
async def change_instructions(
    token: str, body: InstructionsChange, request: Request, session: SessionDep, state: StateDep
) -> SelfServiceResult:
    """Change the delivery instructions. Before the driver sets off they apply at once (the
    driver app gets them live); once the driver is on the way they go to the dispatcher as
    a request (``outcome: requested``)."""
    order, dropoff = await _order_and_dropoff(session, token, state, request)
    status = OrderStatus(order.status)
    if status in FINISHED:
        raise ConflictError(f"the order is {status.value}; nothing can be changed any more")
    try:
        text = instruction_text(InstructionOption(body.option), body.text)
    except SelfServiceError as exc:
        raise UnprocessableError(str(exc)) from None
    change = {"instructions": text, "option": body.option, "by": "customer"}
    if status in ON_THE_WAY:
        await events.record(
            session, order, EventKind.CUSTOMER_REQUEST, None, details={"request": change}
        )
        return _result(
            "requested",
            "the driver is already on the way: your instructions were sent to the dispatcher",
            order,
            dropoff,
        )
    order.instructions = text
    order.updated_at = utcnow()
    session.add(order)
    await events.record(session, order, EventKind.UPDATED, None, details=change)
    return _result("applied", "instructions changed", order, dropoff)


@router.get(
    "/{token}/slots",
    response_model=list[SlotOut],
    responses={**ERRORS(404), 410: {"description": "The link has expired"}},
)
async def slots(
    token: str, request: Request, session: SessionDep, state: StateDep
) -> list[SlotOut]:
    """The delivery windows the customer may choose from (two hours each, from two hours
    ahead over the next days); empty once the driver is on the way."""
    order, _ = await _order_and_dropoff(session, token, state, request)
    if can_change_window(OrderStatus(order.status)) is not None:
        return []
    return [SlotOut(start=s.start, end=s.end) for s in offered_slots(utcnow())]


@router.put(
    "/{token}/window",
    response_model=SelfServiceResult,
    responses={**ERRORS(404, 409, 422), 410: {"description": "The link has expired"}},
)
async def change_window(
    token: str, body: WindowChange, request: Request, session: SessionDep, state: StateDep
) -> SelfServiceResult:
    """Choose another delivery window among the offered slots, until the driver sets off
    (then a 409 says why). The stop leaves its planned route: dispatch plans it again."""
    order, dropoff = await _order_and_dropoff(session, token, state, request)
    refusal = can_change_window(OrderStatus(order.status))
    if refusal is not None:
        raise ConflictError(refusal, code="too_late")
    offered = {(s.start, s.end) for s in offered_slots(utcnow())}
    if (body.start, body.end) not in offered:
        raise UnprocessableError(
            "start, end: not one of the offered slots; choose one from GET /track/{token}/slots"
        )
    before = (dropoff.window_start, dropoff.window_end)
    dropoff.window_start, dropoff.window_end = body.start, body.end
    dropoff.route_id = dropoff.sequence = dropoff.planned_arrival_at = None
    session.add(dropoff)
    await events.record(
        session,
        order,
        EventKind.UPDATED,
        None,
        details={
            "by": "customer",
            "window": [body.start.isoformat(), body.end.isoformat()],
            "previous_window": [t.isoformat() if t else None for t in before],
        },
    )
    return _result("applied", "delivery window changed", order, dropoff)


@router.post(
    "/{token}/rating",
    response_model=RatingOut,
    status_code=201,
    responses={**ERRORS(404, 409, 422), 410: {"description": "The link has expired"}},
)
async def rate(
    token: str, body: RatingIn, request: Request, session: SessionDep, state: StateDep
) -> RatingOut:
    """Rate the delivery, once it is delivered: 1 to 5 stars and an optional comment. One
    rating per order (a second is a 409). The dispatcher sees it on the order's timeline."""
    order, _ = await _order_and_dropoff(session, token, state, request)
    if order.status != OrderStatus.DELIVERED:
        raise ConflictError(
            f"the order is {OrderStatus(order.status).value}: it can be rated once delivered",
            code="not_delivered",
        )
    earlier = (
        await session.exec(
            select(OrderEvent).where(
                OrderEvent.order_id == order.id, OrderEvent.kind == EventKind.RATED
            )
        )
    ).first()
    if earlier is not None:
        raise ConflictError("this delivery was already rated", code="already_rated")
    comment = " ".join(body.comment.split())
    event = await events.record(
        session,
        order,
        EventKind.RATED,
        None,
        details={"stars": body.stars, "comment": comment, "by": "customer"},
    )
    return RatingOut(stars=body.stars, comment=comment, at=event.at)


@router.get(
    "/{token}/proof/photo",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "The delivery photo, small"},
        **ERRORS(404),
        410: {"description": "The link has expired"},
    },
)
async def proof_photo(
    token: str, request: Request, session: SessionDep, state: StateDep
) -> Response:
    """The small copy of the delivery photo, if the organisation shows it to customers
    (``show_proof_photo``) and the delivery has one. Its location metadata was stripped
    when it was stored."""
    order, _ = await _order_and_dropoff(session, token, state, request)
    org = await session.get(Organization, order.org_id)
    history = (
        await session.exec(
            select(OrderEvent)
            .where(OrderEvent.order_id == order.id, col(OrderEvent.to_status).is_not(None))
            .order_by(col(OrderEvent.id))
        )
    ).all()
    delivered = delivery_event(history) if order.status == OrderStatus.DELIVERED else None
    key = proof_photo_key(delivered) if delivered is not None else None
    if org is None or not org.show_proof_photo or key is None:
        raise NotFoundError("there is no delivery photo to show for this order")
    try:
        data = await asyncio.to_thread(proof_store(state).get, key)
    except FileNotFoundError:
        raise NotFoundError("the delivery photo is no longer stored") from None
    return Response(
        data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
    )
