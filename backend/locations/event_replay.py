"""Stored events read back as the live messages they were published as, for an event
stream that resumes from a ``Last-Event-ID`` (:mod:`backend.locations.sse`).

Each function opens one short session; nothing is held while the stream is open.
"""

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.geofencing.zone_events import driver_event_message
from backend.locations.sse_format import Cursor
from backend.models import DriverEvent, OrderEvent
from backend.orders.events import event_message

MAX_REPLAY = 5_000  # more missed than this: the client reloads over HTTP instead


class TooFarBehindError(Exception):
    """More than :data:`MAX_REPLAY` events were missed."""


async def latest(engine: AsyncEngine, org_id: int) -> Cursor:
    """The newest order event and driver event of ``org_id`` (0 when there is none)."""
    async with AsyncSession(engine) as session:
        order = await session.scalar(
            select(sa.func.max(OrderEvent.id)).where(OrderEvent.org_id == org_id)
        )
        driver = await session.scalar(
            select(sa.func.max(DriverEvent.id)).where(DriverEvent.org_id == org_id)
        )
    return Cursor(order or 0, driver or 0)


async def order_events_after(
    engine: AsyncEngine, after: int, *, order_id: int | None = None, org_id: int | None = None
) -> list[bytes]:
    """The ``order_event`` messages after event ``after`` of one order or organisation,
    oldest first. Raises :class:`TooFarBehindError`."""
    query = select(OrderEvent).where(col(OrderEvent.id) > after)
    if order_id is not None:
        query = query.where(OrderEvent.order_id == order_id)
    if org_id is not None:
        query = query.where(OrderEvent.org_id == org_id)
    async with AsyncSession(engine) as session:
        rows = (await session.exec(query.order_by(col(OrderEvent.id)).limit(MAX_REPLAY + 1))).all()
    if len(rows) > MAX_REPLAY:
        raise TooFarBehindError
    return [orjson.dumps(event_message(row)) for row in rows]


async def driver_events_after(engine: AsyncEngine, after: int, org_id: int) -> list[bytes]:
    """The ``driver_event`` messages of ``org_id`` after event ``after``, oldest first.
    Raises :class:`TooFarBehindError`."""
    query = (
        select(DriverEvent)
        .where(col(DriverEvent.id) > after, DriverEvent.org_id == org_id)
        .order_by(col(DriverEvent.id))
        .limit(MAX_REPLAY + 1)
    )
    async with AsyncSession(engine) as session:
        rows = (await session.exec(query)).all()
    if len(rows) > MAX_REPLAY:
        raise TooFarBehindError
    return [orjson.dumps(driver_event_message(row)) for row in rows]
