"""What the customer was told about an order, for the dispatcher."""

from fastapi import APIRouter
from sqlmodel import col, select

from backend.deps import SessionDep, StaffUser
from backend.models import Notification
from backend.orders.scope import get_visible_order
from backend.responses import ERRORS
from shared.schemas.notifications import NotificationOut

router = APIRouter(prefix="/orders", tags=["notifications"])


@router.get(
    "/{order_id}/notifications",
    response_model=list[NotificationOut],
    responses=ERRORS(401, 403, 404),
)
async def order_notifications(
    order_id: int, principal: StaffUser, session: SessionDep
) -> list[Notification]:
    """The customer messages about this order, oldest first: the text as sent, the
    channel and address, and how sending went (``pending`` with the attempts so far, the
    last error and the next attempt; ``sent``; or ``failed`` for good)."""
    order = await get_visible_order(session, principal, order_id)
    rows = await session.exec(
        select(Notification).where(Notification.order_id == order.id).order_by(col(Notification.id))
    )
    return list(rows.all())
