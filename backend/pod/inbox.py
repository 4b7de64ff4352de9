"""The dispatcher's exception inbox: what needs a person's eyes, read from the timeline."""

from typing import Any

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import OrderEvent
from shared.enums import EventKind, OrderStatus

_SCAN = 2_000  # recent delivery/failure events looked at per request


def _item(event: OrderEvent) -> dict[str, Any] | None:
    failure = event.details.get("failure")
    if not isinstance(failure, dict) and event.to_status == OrderStatus.FAILED:
        failure = {"reason": event.details.get("reason")}  # failed by hand, not reported
    if isinstance(failure, dict):
        return {
            "kind": "failed_delivery",
            "order_id": event.order_id,
            "at": event.at,
            "status": event.to_status,
            "reason": failure.get("reason"),
            "note": failure.get("note"),
            "follow_up": failure.get("follow_up"),
            "driver_user_id": event.actor_user_id,
        }
    pod = event.details.get("pod")
    place = pod.get("metadata", {}).get("place", {}) if isinstance(pod, dict) else {}
    if place.get("flagged"):
        distance = place.get("distance_m")
        return {
            "kind": "proof_far_from_address" if distance is not None else "proof_without_position",
            "order_id": event.order_id,
            "at": event.at,
            "status": event.to_status,
            "distance_m": distance,
            "radius_m": place.get("radius_m"),
            "driver_user_id": event.actor_user_id,
        }
    return None


async def exceptions(session: AsyncSession, org_id: int, limit: int) -> list[dict[str, Any]]:
    rows = await session.exec(
        select(OrderEvent)
        .where(
            OrderEvent.org_id == org_id,
            OrderEvent.kind == EventKind.STATUS_CHANGED,
            or_(
                col(OrderEvent.to_status) == OrderStatus.FAILED,
                col(OrderEvent.to_status) == OrderStatus.DELIVERED,
            ),
        )
        .order_by(col(OrderEvent.id).desc())
        .limit(_SCAN)
    )
    items = [item for e in rows.all() if (item := _item(e)) is not None]
    return items[:limit]
