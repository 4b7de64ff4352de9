"""One line of the exceptions inbox, in words, from an item of ``GET /exceptions``."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

KIND_LABELS = {
    "failed_delivery": "Failed delivery",
    "late_risk": "May miss its window",
    "off_route": "Driver off the planned route",
    "proof_far_from_address": "Proof far from the address",
    "proof_without_position": "Proof without a position",
    "left_without_proof": "Left without proof or failure report",
    "customer_request": "Customer changed instructions",
}


@dataclass(frozen=True, slots=True)
class ExceptionLine:
    kind: str
    title: str
    subject: str  # the order or the driver it is about
    detail: str
    at: str


def _words(code: object) -> str:
    return str(code).replace("_", " ") if code else ""


def _detail(item: Mapping[str, Any]) -> str:
    match item.get("kind"):
        case "failed_delivery":
            parts = [f"reason: {_words(item.get('reason'))}"]
            if item.get("follow_up"):
                parts.append(f"next: {_words(item['follow_up'])}")
            if item.get("note"):
                parts.append(f"“{item['note']}”")
            return " · ".join(parts)
        case "late_risk":
            late = item.get("late_by_s")
            return f"late by about {round(late / 60)} min" if isinstance(late, int | float) else ""
        case "off_route" | "proof_far_from_address":
            distance = item.get("distance_m")
            return f"{round(distance)} m away" if isinstance(distance, int | float) else ""
        case "customer_request":
            return str(item.get("instructions") or _words(item.get("option")))
    return ""


def exception_line(
    item: Mapping[str, Any], *, driver_names: Mapping[int, str], tz: tzinfo
) -> ExceptionLine:
    kind = str(item.get("kind", ""))
    if item.get("order_id") is not None:
        subject = f"Order #{item['order_id']}"
    elif item.get("driver_id") is not None:
        driver_id = int(item["driver_id"])
        subject = driver_names.get(driver_id) or f"Driver #{driver_id}"
    else:
        subject = ""
    at = item.get("at")
    when = ""
    if isinstance(at, str):
        when = datetime.fromisoformat(at).astimezone(tz).strftime("%H:%M")
    return ExceptionLine(
        kind=kind,
        title=KIND_LABELS.get(kind, _words(kind).capitalize()),
        subject=subject,
        detail=_detail(item),
        at=when,
    )


_ORDER_EVENTS = frozenset({"left_without_proof", "late_risk", "customer_request"})
_STATUSES = frozenset({"failed", "delivered"})  # a failure; a proof maybe far from the door


def changes_inbox(frame: Mapping[str, Any]) -> bool:
    """Whether a fleet-socket frame may add an item to the inbox (then it is read again)."""
    match frame.get("type"):
        case "order_event":
            return frame.get("kind") in _ORDER_EVENTS or (
                frame.get("kind") == "status_changed" and frame.get("to_status") in _STATUSES
            )
        case "driver_event":
            return frame.get("kind") == "off_route"
    return False
