"""A ``late_risk`` event on an order's timeline (the dispatcher's exception), once per stop.

A tracker raises a stop's late risk once (:class:`backend.eta.tracker.RouteEtas`), but a
tracker lives in one worker's memory: after the driver's fixes move to another worker, or
a restart, a fresh tracker raises it again. So the write itself is idempotent: the stop's
row is locked first (an update that changes nothing), then the order's timeline is read for
a late risk of this stop and this window's end, and only without one is the event added.
Two workers racing for the same stop queue on the lock (PostgreSQL's row lock, SQLite's
write lock); the second reads the first's committed event and adds none.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.eta.estimate import StopEta
from backend.models import Order, OrderEvent, Stop
from backend.orders import events
from shared.enums import EventKind


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat()


async def record_late_risk(session: AsyncSession, org_id: int, eta: StopEta) -> bool:
    """Add ``eta``'s late risk to its order's timeline unless it is there already (or the
    stop, the order or the window's end is gone). Whether it was added; the caller
    commits (the event is announced after the commit)."""
    if eta.window_end is None:
        return False
    stops = Stop.__table__  # type: ignore[attr-defined]
    connection = await session.connection()
    locked = await connection.execute(
        sa.update(stops)
        .where(stops.c.id == eta.stop_id, stops.c.org_id == org_id)
        .values(eta_at=stops.c.eta_at)  # changes nothing: held until the commit
    )
    if locked.rowcount == 0:
        return False
    order = await session.get(Order, eta.order_id)
    if order is None or order.org_id != org_id:
        return False
    window_end = _iso(eta.window_end)
    raised = await session.exec(
        select(OrderEvent.details).where(
            col(OrderEvent.order_id) == eta.order_id,
            col(OrderEvent.kind) == EventKind.LATE_RISK,
        )
    )
    if any(d.get("stop_id") == eta.stop_id and d.get("window_end") == window_end for d in raised):
        return False
    await events.record(
        session,
        order,
        EventKind.LATE_RISK,
        None,
        details={
            "source": "eta",
            "stop_id": eta.stop_id,
            "eta": _iso(eta.eta),
            "window_end": window_end,
            "late_by_s": round(eta.late_by_s),
        },
    )
    return True
