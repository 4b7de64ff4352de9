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


async def get_order_to_write(session: AsyncSession, principal: Principal, order_id: int) -> Order:
    """The order for a write, as :func:`get_visible_order`; except that an order that was
    the calling driver's and no longer is (reassigned, cancelled, rescheduled meanwhile) is
    a 409 saying so, not a 404: the phone's offline queue replays writes and must be able
    to show what happened."""
    try:
        return await get_visible_order(session, principal, order_id)
    except NotFoundError:
        if principal.driver_id is None:
            raise
        order = await session.get(Order, order_id)
        if order is None or order.org_id != principal.org_id:
            raise
        rows = await session.exec(select(OrderEvent).where(OrderEvent.order_id == order_id))
        if not any(e.details.get("driver_id") == principal.driver_id for e in rows.all()):
            raise
        raise ConflictError(
            f"order {order_id} is no longer yours (now {order.status}, "
            f"{'with another driver' if order.driver_id else 'with no driver'}); "
            "nothing was recorded",
            code="no_longer_yours",
            details={"status": order.status},
        ) from None
