"""What each role may see of orders, as SQL conditions."""

from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth.principal import Principal
from backend.errors import NotFoundError
from backend.models import Order
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
