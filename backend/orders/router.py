from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from backend.db import after_commit_do
from backend.deps import CurrentUser, SessionDep, SettingsDep, StaffUser, StateDep
from backend.models import OrderEvent
from backend.optimization.auto import auto_dispatch
from backend.orders import service, transitions
from backend.orders.scope import get_order_to_write, get_visible_order
from backend.orders.serialize import order_out, orders_out
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

SortKey = Annotated[
    str,
    Query(
        pattern=r"^-?(created_at|priority|status|id)$",
        description="field to sort by, '-' for descending",
    ),
]


@router.get("", response_model=Page[OrderOut], responses=ERRORS(401, 422))
async def list_orders(
    principal: CurrentUser,
    session: SessionDep,
    status: Annotated[list[OrderStatus] | None, Query()] = None,
    driver_id: int | None = None,
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
    """Orders the caller may see (drivers: their own), filtered, sorted and paginated."""
    orders, total = await service.list_orders(
        session,
        principal,
        status=status or (),
        driver_id=driver_id,
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
    body: OrderCreate, principal: StaffUser, session: SessionDep, state: StateDep
) -> OrderOut:
    """Create one order with its stops and barcodes. With the organisation's auto-dispatch
    on, it goes straight into the best published or running route (and is assigned)."""
    [order] = await service.create_orders(session, principal, [body])
    await auto_dispatch(session, state, principal, [order])
    return await order_out(session, order)


@router.post(
    "/batch", response_model=list[OrderOut], status_code=201, responses=ERRORS(401, 403, 409, 422)
)
async def create_orders(
    body: OrderBatchCreate, principal: StaffUser, session: SessionDep, state: StateDep
) -> list[OrderOut]:
    """Create up to 1000 orders at once: all of them, or none if any one is refused (and
    auto-dispatched like single orders when the organisation has it on)."""
    orders = await service.create_orders(session, principal, body.orders)
    await auto_dispatch(session, state, principal, orders)
    return await orders_out(session, orders)


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
