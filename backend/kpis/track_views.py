"""Counting visits of customers' tracking pages: the "where is my order" figure.

A visit is one visitor (a keyed hash of the caller's address, never the address) on one
link until the page is left alone ``VISIT_GAP``: the page re-reads its view after events,
every 5 minutes while open and every 30 s when it polls, and none of that is a new visit.
Recorded by ``GET /api/v1/track/{token}`` (the page reads it first, before its socket)."""

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import TrackingLink, TrackingPageView
from backend.models.types import utcnow

VISIT_GAP = timedelta(minutes=30)


def visitor_of(secret: str, link_id: int, client: str | None) -> str:
    """32 hex characters naming the caller for this link only (keyed: an address cannot be
    found back by hashing every address)."""
    message = f"{link_id}:{client or 'unknown'}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


async def record_view(
    session: AsyncSession,
    link: TrackingLink,
    client: str | None,
    secret: str,
    now: datetime | None = None,
) -> bool:
    """Count a read of ``link``'s page by ``client``; True when it starts a new visit."""
    assert link.id is not None
    at = now or utcnow()
    visitor = visitor_of(secret, link.id, client)
    last = (
        await session.exec(
            select(TrackingPageView)
            .where(TrackingPageView.link_id == link.id, TrackingPageView.visitor == visitor)
            .order_by(col(TrackingPageView.id).desc())
            .limit(1)
        )
    ).first()
    if last is not None and last.last_at > at - VISIT_GAP:
        await session.exec(
            update(TrackingPageView)
            .where(col(TrackingPageView.id) == last.id)
            .values(last_at=at, reads=col(TrackingPageView.reads) + 1)
        )
        return False
    session.add(
        TrackingPageView(
            org_id=link.org_id,
            order_id=link.order_id,
            link_id=link.id,
            visitor=visitor,
            first_at=at,
            last_at=at,
        )
    )
    await session.flush()
    return True
