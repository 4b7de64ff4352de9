"""What each role may see of orders, as SQL conditions."""

from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.errors import ConflictError, NotFoundError
from backend.models import Order, OrderEvent
from shared.enums import Role


def visible(principal: Principal) -> list[Any]:
    """Staff see their organisation's orders; a driver sees only the orders assigned to them."""
    conditions: list[Any] = [Order.org_id == principal.org_id]
    if principal.role is Role.DRIVER:
        conditions.append(Order.driver_id == principal.driver_id)
    return conditions


async def get_visible_order(session: AsyncSession, principal: Principal, order_id: int) -> Order:
    """The order, if it exists and the caller may see it; a 404 otherwise (no existence leak)."""
    order = (
        await session.exec(select(Order).where(Order.id == order_id, *visible(principal)))
    ).first()
    if order is None:
        raise NotFoundError(f"order {order_id} not found")
    return order


async def get_order_to_write(
    session: AsyncSession, principal: Principal, order_id: int, client_id: str | None = None
) -> Order:
    """The order for a write, as :func:`get_visible_order`; except that an order that was
    the calling driver's and no longer is (reassigned, cancelled, rescheduled meanwhile) is
    a 409 saying so, not a 404: the phone's offline queue replays writes and must be able
    to show what happened. A replay of a write this driver already made there (its
    ``client_id`` is on the timeline, theirs) gets the order, so the write's first answer
    is given again: a report whose answer was lost before the order moved on was
    recorded, and the phone must not be told otherwise."""
    try:
        return await get_visible_order(session, principal, order_id)
    except NotFoundError:
        if principal.driver_id is None:
            raise
        order = await session.get(Order, order_id)
        if order is None or order.org_id != principal.org_id:
            raise
        rows = (await session.exec(select(OrderEvent).where(OrderEvent.order_id == order_id))).all()
        if client_id is not None and any(
            e.actor_user_id == principal.user_id and client_id in _client_ids(e) for e in rows
        ):
            return order
        if not any(e.details.get("driver_id") == principal.driver_id for e in rows):
            raise
        raise ConflictError(
            f"order {order_id} is no longer yours (now {order.status}, "
            f"{'with another driver' if order.driver_id else 'with no driver'}); "
            "nothing was recorded",
            code="no_longer_yours",
            details={"status": order.status},
        ) from None


def _client_ids(event: OrderEvent) -> set[str]:
    """The client ids a driver's write left on an event (a status change, a proof, a
    failure report)."""
    details = event.details
    found = {details.get("client_id")}
    for part in ("pod", "failure"):
        sealed = details.get(part)
        if isinstance(sealed, dict):
            found.add(sealed.get("client_id"))
    return {c for c in found if isinstance(c, str)}
