"""Parts of the customer's view read from what is already loaded or one small query: the
driver's stops before this one, the proof summary and the rating."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Order, OrderEvent, Organization, Stop
from shared.enums import EventKind, OrderStatus
from shared.schemas.tracking import ProofSummary, RatingOut

S = OrderStatus
# Stops whose order is in one of these need no more visit today.
_SERVED = (S.DELIVERED, S.FAILED, S.RETURNED, S.CANCELLED, S.RESCHEDULED)
# The display copy of a delivery photo, or of the photo of a parcel left at a safe place.
PHOTO_NAMES = ("photo-1-display.jpg", "failure-photo-1-display.jpg")


async def stops_before(session: AsyncSession, stop: Stop) -> int | None:
    """How many stops the driver still has to serve before ``stop`` on its route."""
    if stop.route_id is None or stop.sequence is None:
        return None
    count = await session.exec(
        select(func.count())
        .select_from(Stop)
        .join(Order, col(Order.id) == col(Stop.order_id))
        .where(
            Stop.route_id == stop.route_id,
            col(Stop.sequence) < stop.sequence,
            col(Stop.actual_departure_at).is_(None),
            col(Order.status).not_in(_SERVED),
        )
    )
    return int(count.one())


def delivery_event(events: Sequence[OrderEvent]) -> OrderEvent | None:
    """The last change to ``delivered`` among ``events``."""
    done = [e for e in events if e.to_status == S.DELIVERED]
    return done[-1] if done else None


def proof_photo_key(event: OrderEvent) -> str | None:
    """The stored key of the delivery's display photo, if it has one."""
    sealed: dict[str, Any] = event.details.get("pod") or event.details.get("failure") or {}
    files: dict[str, str] = sealed.get("files") or {}
    return next((files[n] for n in PHOTO_NAMES if n in files), None)


def proof_summary(event: OrderEvent, org: Organization, photo_url: str) -> ProofSummary:
    """When and how the order was delivered; the photo only if the organisation shows it."""
    pod: dict[str, Any] = event.details.get("pod") or {}
    metadata: dict[str, Any] = pod.get("metadata") or {}
    return ProofSummary(
        delivered_at=event.at,
        safe_place="failure" in event.details,
        received_by=metadata.get("recipient_name"),
        photo_url=photo_url if org.show_proof_photo and proof_photo_key(event) else None,
    )


def rating_of(events: Sequence[OrderEvent]) -> RatingOut | None:
    rated = [e for e in events if e.kind == EventKind.RATED]
    if not rated:
        return None
    details = rated[-1].details
    return RatingOut(stars=details["stars"], comment=details.get("comment", ""), at=rated[-1].at)
