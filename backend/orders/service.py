"""Creating, changing, listing and deleting orders. Raises AppErrors; never commits."""

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import col, delete, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.errors import ConflictError
from backend.models import Barcode, Order, OrderEvent, Stop, TrackingLink
from backend.models.types import utcnow
from backend.orders import events
from backend.orders.scope import visible
from shared.enums import EventKind, OrderStatus, StopKind
from shared.lifecycle import TERMINAL
from shared.schemas.orders import OrderCreate, OrderUpdate, StopIn

# The dropoff's window start (None without a dropoff or a window: listed last either way).
_DROPOFF_WINDOW_START = (
    select(Stop.window_start)
    .where(Stop.order_id == Order.id, Stop.kind == StopKind.DROPOFF)
    .limit(1)
    .scalar_subquery()
)
SORTS: dict[str, Any] = {
    "created_at": col(Order.created_at),
    "priority": col(Order.priority),
    "status": col(Order.status),
    "id": col(Order.id),
    "reference": col(Order.reference),
    "window_start": _DROPOFF_WINDOW_START,
}
DELETABLE = frozenset({OrderStatus.CREATED, OrderStatus.CANCELLED})
STOPS_EDITABLE = frozenset({OrderStatus.CREATED, OrderStatus.ASSIGNED, OrderStatus.RESCHEDULED})


def _stop(org_id: int, order_id: int, kind: StopKind, data: StopIn) -> Stop:
    window = data.time_window
    return Stop(
        org_id=org_id,
        order_id=order_id,
        kind=kind,
        address=data.address,
        lat=data.lat,
        lng=data.lng,
        window_start=window.start if window else None,
        window_end=window.end if window else None,
        service_time_s=data.service_time_s,
        arrival_radius_m=data.arrival_radius_m,
    )


async def _check_barcodes_free(session: AsyncSession, org_id: int, codes: Sequence[str]) -> None:
    repeated = sorted(code for code, n in Counter(codes).items() if n > 1)
    if repeated:
        raise ConflictError(
            f"barcode(s) given to more than one order: {', '.join(repeated)}",
            code="duplicate_barcode",
            details={"barcodes": repeated},
        )
    if not codes:
        return
    rows = await session.exec(
        select(Barcode.code).where(Barcode.org_id == org_id, col(Barcode.code).in_(list(codes)))
    )
    taken = sorted(rows.all())
    if taken:
        raise ConflictError(
            f"barcode(s) already used in this organisation: {', '.join(taken)}",
            code="duplicate_barcode",
            details={"barcodes": taken},
        )


async def create_orders(
    session: AsyncSession, principal: Principal, payloads: Sequence[OrderCreate]
) -> list[Order]:
    """Create all the orders or none: a failure anywhere leaves nothing stored."""
    return await _create(session, principal.org_id, principal, payloads)


async def create_system_orders(
    session: AsyncSession, org_id: int, payloads: Sequence[OrderCreate], *, source: str
) -> list[Order]:
    """As :func:`create_orders`, for orders no one signed in asked for (a shop's webhook):
    their ``created`` events have no actor and name the ``source`` in their details."""
    return await _create(session, org_id, None, payloads, details={"source": source})


async def _create(
    session: AsyncSession,
    org_id: int,
    actor: Principal | None,
    payloads: Sequence[OrderCreate],
    details: dict[str, Any] | None = None,
) -> list[Order]:
    await _check_barcodes_free(session, org_id, [c for p in payloads for c in p.barcodes])
    orders = [
        Order(org_id=org_id, **p.model_dump(exclude={"pickup", "dropoff", "barcodes"}))
        for p in payloads
    ]
    session.add_all(orders)
    await session.flush()  # one multi-row INSERT; gives every order its id
    rows: list[Stop | Barcode] = []
    for order, payload in zip(orders, payloads, strict=True):
        assert order.id is not None
        for kind, stop in ((StopKind.PICKUP, payload.pickup), (StopKind.DROPOFF, payload.dropoff)):
            if stop is not None:
                rows.append(_stop(org_id, order.id, kind, stop))
        rows += [Barcode(org_id=org_id, order_id=order.id, code=c) for c in payload.barcodes]
    session.add_all(rows)
    await events.append(
        session,
        [
            events.new_event(o, EventKind.CREATED, actor, to_status=o.status, details=details)
            for o in orders
        ],
    )
    return orders


async def update_order(
    session: AsyncSession, principal: Principal, order: Order, patch: OrderUpdate
) -> Order:
    if order.status in TERMINAL:
        raise ConflictError(f"order {order.id} is '{order.status}' and can no longer be changed")
    changes = patch.model_dump(exclude_unset=True)
    stop_changes = {k: changes.pop(k) for k in ("pickup", "dropoff") if k in changes}
    if stop_changes and order.status not in STOPS_EDITABLE:
        raise ConflictError(
            f"the stops of an order in '{order.status}' cannot change; fail or reschedule it first"
        )
    for key, value in changes.items():
        setattr(order, key, value)
    assert order.id is not None
    for key in stop_changes:
        kind = StopKind(key)
        data = getattr(patch, key)
        existing = (
            await session.exec(select(Stop).where(Stop.order_id == order.id, Stop.kind == kind))
        ).first()
        fresh = _stop(order.org_id, order.id, kind, data)
        if existing is None:
            session.add(fresh)
        else:
            for attr in (
                "address",
                "lat",
                "lng",
                "window_start",
                "window_end",
                "service_time_s",
                "arrival_radius_m",
            ):
                setattr(existing, attr, getattr(fresh, attr))
            session.add(existing)
    order.updated_at = utcnow()
    session.add(order)
    await session.flush()
    await events.record(
        session,
        order,
        EventKind.UPDATED,
        principal,
        details={"fields": sorted([*changes, *stop_changes])},
    )
    return order


async def delete_order(session: AsyncSession, order: Order) -> None:
    if order.status not in DELETABLE:
        raise ConflictError(
            f"only orders in 'created' or 'cancelled' can be deleted; this one is '{order.status}'"
        )
    for model in (Barcode, Stop, OrderEvent, TrackingLink):
        await session.exec(delete(model).where(col(model.order_id) == order.id))
    events.announce_deleted(session, order)
    await session.delete(order)
    await session.flush()


async def list_orders(
    session: AsyncSession,
    principal: Principal,
    *,
    status: Sequence[OrderStatus] = (),
    driver_id: int | None = None,
    unassigned: bool | None = None,
    zone_order_ids: Sequence[int] | None = None,
    route_id: int | None = None,
    window_from: datetime | None = None,
    window_to: datetime | None = None,
    q: str | None = None,
    sort: str = "-created_at",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Order], int]:
    """A page of the orders ``principal`` may see and the total matching. ``unassigned``:
    True only orders on no driver, False only orders on one; ``zone_order_ids``: only
    these orders (those dropping off in a zone, see :mod:`backend.orders.zone_filter`)."""
    conditions: list[Any] = visible(principal)
    if status:
        conditions.append(col(Order.status).in_(list(status)))
    if driver_id is not None:
        conditions.append(Order.driver_id == driver_id)
    if unassigned is not None:
        driver = col(Order.driver_id)
        conditions.append(driver.is_(None) if unassigned else driver.is_not(None))
    if zone_order_ids is not None:
        # Integers written into the SQL: no limit on bound parameters however many match.
        ids: Any = bindparam(
            "zone_order_ids", list(zone_order_ids), expanding=True, literal_execute=True
        )
        conditions.append(col(Order.id).in_(ids))
    stop_conditions: list[Any] = []
    if route_id is not None:
        stop_conditions.append(Stop.route_id == route_id)
    if window_from is not None:
        stop_conditions.append(col(Stop.window_end) >= window_from)
    if window_to is not None:
        stop_conditions.append(col(Stop.window_start) <= window_to)
    if q:
        like = f"%{q.strip()}%"
        stop_conditions_q = select(Stop.order_id).where(col(Stop.address).ilike(like))
        conditions.append(
            or_(
                col(Order.reference).ilike(like),
                col(Order.recipient_name).ilike(like),
                col(Order.id).in_(stop_conditions_q),
                col(Order.id).in_(select(Barcode.order_id).where(Barcode.code == q.strip())),
            )
        )
    if stop_conditions:
        conditions.append(col(Order.id).in_(select(Stop.order_id).where(*stop_conditions)))
    total = (await session.exec(select(func.count()).select_from(Order).where(*conditions))).one()
    descending = sort.startswith("-")
    key = SORTS[sort.lstrip("-")]
    rows = await session.exec(
        select(Order)
        .where(*conditions)
        .order_by((key.desc() if descending else key.asc()).nulls_last(), col(Order.id).asc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows.all()), total
