from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlmodel import col, select

from backend.crud import get_in_org
from backend.db import after_commit_do
from backend.deps import CurrentUser, SessionDep, SettingsDep, StaffUser, StateDep
from backend.errors import UnprocessableError
from backend.models import OrderEvent, Zone
from backend.optimization.auto import auto_dispatch
from backend.orders import idempotency, service, transitions
from backend.orders.scope import get_order_to_write, get_visible_order
from backend.orders.serialize import order_out, orders_out
from backend.orders.zone_filter import orders_dropping_off_in
from backend.responses import ERRORS
from backend.tracking_links import service as links
from shared.enums import OrderStatus
from shared.schemas.common import Page
from shared.schemas.orders import (
    OrderBatchCreate,
    OrderCreate,
    OrderEventOut,
    OrderOut,
    OrderUpdate,
    TrackingLinkCreate,
    TrackingLinkOut,
    TransitionRequest,
)

router = APIRouter(prefix="/orders", tags=["orders"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER,
        description="any unique string (a UUID): the same request sent again with it "
        "within 24 h answers what the first got and creates nothing more",
    ),
]

SortKey = Annotated[
    str,
    Query(
        pattern=r"^-?(created_at|priority|status|id|reference|window_start)$",
        description="field to sort by, '-' for descending; window_start is the dropoff's "
        "(orders without one come last)",
    ),
]


@router.get("", response_model=Page[OrderOut], responses=ERRORS(401, 404, 422))
async def list_orders(
    principal: CurrentUser,
    session: SessionDep,
    state: StateDep,
    status: Annotated[list[OrderStatus] | None, Query()] = None,
    driver_id: int | None = None,
    unassigned: Annotated[
        bool | None, Query(description="true: only orders on no driver; false: only on one")
    ] = None,
    zone_id: Annotated[
        int | None, Query(description="only orders whose dropoff lies inside this zone")
    ] = None,
    route_id: int | None = None,
    window_from: Annotated[datetime | None, Query(description="dropoff window ends after")] = None,
    window_to: Annotated[datetime | None, Query(description="dropoff window starts before")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="reference, name, address, barcode")
    ] = None,
    sort: SortKey = "-created_at",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[OrderOut]:
    """Orders the caller may see (drivers: their own), filtered, sorted and paginated.
    An unknown ``zone_id`` is a 404; ``driver_id`` with ``unassigned=true`` a 422."""
    if unassigned and driver_id is not None:
        raise UnprocessableError(
            "driver_id and unassigned=true ask for opposite things; give one of them",
            code="contradictory_filters",
        )
    zone_order_ids = None
    if zone_id is not None:
        zone = await get_in_org(session, Zone, zone_id, principal.org_id, label="zone")
        zone_order_ids = await orders_dropping_off_in(session, zone, state.spatial)
    orders, total = await service.list_orders(
        session,
        principal,
        status=status or (),
        driver_id=driver_id,
        unassigned=unassigned,
        zone_order_ids=zone_order_ids,
        route_id=route_id,
        window_from=window_from,
        window_to=window_to,
        q=q,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    items = await orders_out(session, orders)
    return Page[OrderOut](items=items, total=total, limit=limit, offset=offset)


@router.post("", response_model=OrderOut, status_code=201, responses=ERRORS(401, 403, 409, 422))
async def create_order(
    body: OrderCreate,
    principal: StaffUser,
    session: SessionDep,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> OrderOut | JSONResponse:
    """Create one order with its stops and barcodes. With the organisation's auto-dispatch
    on, it goes straight into the best published or running route (and is assigned).
    With an ``Idempotency-Key`` header, sending the same request again within 24 hours
    answers what the first one got (header ``Idempotent-Replayed: true``) and creates
    nothing more."""

    async def create() -> OrderOut:
        [order] = await service.create_orders(session, principal, [body])
        await auto_dispatch(session, state, principal, [order])
        return await order_out(session, order)

    return await _once(session, principal.org_id, idempotency_key, "POST /orders", body, create)


@router.post(
    "/batch", response_model=list[OrderOut], status_code=201, responses=ERRORS(401, 403, 409, 422)
)
async def create_orders(
    body: OrderBatchCreate,
    principal: StaffUser,
    session: SessionDep,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> list[OrderOut] | JSONResponse:
    """Create up to 1000 orders at once: all of them, or none if any one is refused (and
    auto-dispatched like single orders when the organisation has it on). An
    ``Idempotency-Key`` works as for a single order."""

    async def create() -> list[OrderOut]:
        orders = await service.create_orders(session, principal, body.orders)
        await auto_dispatch(session, state, principal, orders)
        return await orders_out(session, orders)

    return await _once(
        session, principal.org_id, idempotency_key, "POST /orders/batch", body, create
    )


async def _once[T](
    session: SessionDep,
    org_id: int,
    key: str | None,
    request: str,
    body: OrderCreate | OrderBatchCreate,
    create: Callable[[], Awaitable[T]],
) -> T | JSONResponse:
    """``create()``, or with an idempotency key already answered, that answer again."""
    if key is None:
        return await create()
    key = idempotency.checked_key(key)
    fingerprint = idempotency.digest(body.model_dump(mode="json"))
    found = await idempotency.replay(session, org_id, key, request, fingerprint)
    if found is not None:
        return JSONResponse(
            found.body, status_code=found.status_code, headers={"Idempotent-Replayed": "true"}
        )
    made = await create()
    await idempotency.remember(
        session, org_id, key, request, fingerprint, 201, jsonable_encoder(made)
    )
    return made


@router.get("/{order_id}", response_model=OrderOut, responses=ERRORS(401, 404))
async def get_order(order_id: int, principal: CurrentUser, session: SessionDep) -> OrderOut:
    """One order with its stops and barcodes."""
    order = await get_visible_order(session, principal, order_id)
    return await order_out(session, order)


@router.patch("/{order_id}", response_model=OrderOut, responses=ERRORS(401, 403, 404, 409, 422))
async def update_order(
    order_id: int, body: OrderUpdate, principal: StaffUser, session: SessionDep
) -> OrderOut:
    """Change an order's details (not its status: see transitions)."""
    order = await get_visible_order(session, principal, order_id)
    order = await service.update_order(session, principal, order, body)
    return await order_out(session, order)


@router.delete("/{order_id}", status_code=204, responses=ERRORS(401, 403, 404, 409))
async def delete_order(order_id: int, principal: StaffUser, session: SessionDep) -> None:
    """Delete an order that was never started (status 'created' or 'cancelled')."""
    order = await get_visible_order(session, principal, order_id)
    await service.delete_order(session, order)


@router.post(
    "/{order_id}/transitions",
    response_model=OrderOut,
    responses=ERRORS(400, 401, 403, 404, 409, 422),
)
async def transition_order(
    order_id: int,
    body: TransitionRequest,
    principal: CurrentUser,
    session: SessionDep,
    state: StateDep,
) -> OrderOut:
    """Move an order along its lifecycle. Illegal moves get a 409 naming both states.

    Drivers may move their own orders through the delivery states; assigning, unassigning,
    cancelling, rescheduling and returning are for dispatchers and admins.
    """
    order = await get_order_to_write(session, principal, order_id, body.client_id)
    drivers = {order.driver_id}
    order = await transitions.transition(session, principal, order, body)
    drivers.add(order.driver_id)
    geofences = state.locations.geofences
    if geofences is not None:

        async def reload_stops() -> None:  # the live fences, stop rules and ETAs at once
            for driver_id in drivers:
                if driver_id is not None:
                    geofences.route_changed(driver_id)

        after_commit_do(session, reload_stops)
    return await order_out(session, order)


@router.get("/{order_id}/events", response_model=list[OrderEventOut], responses=ERRORS(401, 404))
async def order_events(
    order_id: int, principal: CurrentUser, session: SessionDep
) -> list[OrderEventOut]:
    """The order's timeline, oldest first."""
    await get_visible_order(session, principal, order_id)
    rows = await session.exec(
        select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(col(OrderEvent.id))
    )
    return [OrderEventOut.model_validate(e) for e in rows.all()]


@router.post(
    "/{order_id}/tracking-links",
    response_model=TrackingLinkOut,
    status_code=201,
    responses=ERRORS(401, 403, 404, 422),
)
async def create_tracking_link(
    order_id: int,
    body: TrackingLinkCreate,
    principal: StaffUser,
    session: SessionDep,
    settings: SettingsDep,
) -> TrackingLinkOut:
    """A link the customer can open to follow this order, valid for ``ttl_hours``."""
    order = await get_visible_order(session, principal, order_id)
    return await links.create_link(session, settings, principal, order, body.ttl_hours)
