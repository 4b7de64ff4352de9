"""The dispatcher's exception inbox: what needs a person's eyes, read from the timeline."""

from typing import Any

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import DriverEvent, OrderEvent
from shared.enums import DriverEventKind, EventKind, OrderStatus

_SCAN = 2_000  # recent delivery/failure events looked at per request


def _item(event: OrderEvent) -> dict[str, Any] | None:
    if event.kind == EventKind.LEFT_WITHOUT_PROOF:
        return {
            "kind": "left_without_proof",
            "order_id": event.order_id,
            "at": event.at,
            "stop_id": event.details.get("stop_id"),
            "lat": event.lat,
            "lng": event.lng,
        }
    if event.kind == EventKind.CUSTOMER_REQUEST:
        request = event.details.get("request") or {}
        return {
            "kind": "customer_request",
            "order_id": event.order_id,
            "at": event.at,
            "instructions": request.get("instructions"),
            "option": request.get("option"),
        }
    if event.kind == EventKind.LATE_RISK:
        return {
            "kind": "late_risk",
            "order_id": event.order_id,
            "at": event.at,
            "stop_id": event.details.get("stop_id"),
            "eta": event.details.get("eta"),
            "window_end": event.details.get("window_end"),
            "late_by_s": event.details.get("late_by_s"),
        }
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
            or_(
                col(OrderEvent.kind).in_(
                    [EventKind.LEFT_WITHOUT_PROOF, EventKind.LATE_RISK, EventKind.CUSTOMER_REQUEST]
                ),
                (col(OrderEvent.kind) == EventKind.STATUS_CHANGED)
                & col(OrderEvent.to_status).in_([OrderStatus.FAILED, OrderStatus.DELIVERED]),
            ),
        )
        .order_by(col(OrderEvent.id).desc())
        .limit(_SCAN)
    )
    items = [item for e in rows.all() if (item := _item(e)) is not None]
    off_route = await session.exec(
        select(DriverEvent)
        .where(DriverEvent.org_id == org_id, DriverEvent.kind == DriverEventKind.OFF_ROUTE)
        .order_by(col(DriverEvent.id).desc())
        .limit(limit)
    )
    items += [
        {
            "kind": "off_route",
            "driver_id": e.driver_id,
            "at": e.at,
            "lat": e.lat,
            "lng": e.lng,
            "distance_m": e.details.get("distance_m"),
        }
        for e in off_route.all()
    ]
    items.sort(key=lambda item: item["at"], reverse=True)
    return items[:limit]
