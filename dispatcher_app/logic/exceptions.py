"""The exceptions inbox in words, and the choices of a new window: pure functions over
the server's items (``GET /exceptions``)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from shared.schemas.exceptions import ExceptionAction, ExceptionItem, ExceptionKind

KIND_LABELS = {
    "failed_delivery": "Failed delivery",
    "late_risk": "May miss its window",
    "off_route": "Driver off the planned route",
    "proof_far_from_address": "Proof far from the address",
    "proof_without_position": "Proof without a position",
    "left_without_proof": "Left without proof or failure report",
    "customer_request": "Customer changed instructions",
    "driver_silent": "Driver silent",
}


@dataclass(frozen=True, slots=True)
class ExceptionLine:
    key: str
    kind: str
    title: str
    subject: str  # the order or the driver it is about
    detail: str
    people: str  # the driver and who the call action phones
    at: str
    actions: tuple[ExceptionAction, ...]
    call_url: str | None
    resolved: str  # "" while open; else who resolved it, when, and their note


def _words(code: object) -> str:
    return str(code).replace("_", " ") if code else ""


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60:02d} min"


def _detail(item: ExceptionItem) -> str:
    match item.kind:
        case ExceptionKind.FAILED_DELIVERY:
            parts = [f"reason: {_words(item.reason)}"]
            if item.follow_up:
                parts.append(f"next: {_words(item.follow_up)}")
            if item.note:
                parts.append(f"“{item.note}”")
            return " · ".join(parts)
        case ExceptionKind.LATE_RISK:
            return f"late by about {_minutes(item.late_by_s)}" if item.late_by_s else ""
        case ExceptionKind.OFF_ROUTE | ExceptionKind.PROOF_FAR_FROM_ADDRESS:
            return f"{round(item.distance_m)} m away" if item.distance_m is not None else ""
        case ExceptionKind.CUSTOMER_REQUEST:
            return str(item.instructions or _words(item.option))
        case ExceptionKind.DRIVER_SILENT:
            if item.silent_s is None:
                return "no position since going on shift"
            return f"no position for {_minutes(item.silent_s)}"
    return ""


def _when(at: datetime | None, tz: tzinfo, today: date | None) -> str:
    if at is None:
        return ""
    local = at.astimezone(tz)
    if today is None or local.date() == today:
        return local.strftime("%H:%M")
    return local.strftime("%d %b %H:%M")


def tel_url(phone: str | None) -> str | None:
    """A ``tel:`` link for ``phone`` (spaces and dots dropped), None without a number."""
    if not phone:
        return None
    digits = "".join(c for c in phone if c.isdigit() or c == "+")
    return f"tel:{digits}" if digits.strip("+") else None


def exception_line(item: ExceptionItem, *, tz: tzinfo, today: date | None = None) -> ExceptionLine:
    """``item`` in words, times in ``tz`` (with the date when not ``today``)."""
    if item.order_id is not None:
        parts = [f"Order #{item.order_id}", item.order_reference, item.recipient_name]
        subject = " · ".join(p for p in parts if p)
    elif item.driver_id is not None:
        subject = item.driver_name or f"Driver #{item.driver_id}"
    else:
        subject = ""
    people = []
    if item.order_id is not None and item.driver_name:
        people.append(f"driver: {item.driver_name}")
    if item.contact_phone:
        people.append(f"call {item.contact_name or ''} {item.contact_phone}".replace("  ", " "))
    resolved = ""
    if item.resolved is not None:
        by = item.resolved.resolved_by_name or "someone"
        resolved = f"resolved by {by} at {_when(item.resolved.resolved_at, tz, today)}"
        if item.resolved.note:
            resolved += f": {item.resolved.note}"
    return ExceptionLine(
        key=item.key,
        kind=item.kind.value,
        title=KIND_LABELS.get(item.kind.value, _words(item.kind.value).capitalize()),
        subject=subject,
        detail=_detail(item),
        people=" · ".join(people),
        at=_when(item.at, tz, today),
        actions=tuple(a for a in item.actions if item.resolved is None),
        call_url=tel_url(item.contact_phone),
        resolved=resolved,
    )


# Frames of the fleet socket that may add (or take away) an item.
_ORDER_EVENTS = frozenset({"left_without_proof", "late_risk", "customer_request"})
_STATUSES = frozenset({"failed", "delivered"})  # a failure; a proof maybe far from the door


def changes_inbox(frame: Mapping[str, Any]) -> bool:
    """Whether a fleet-socket frame may change the inbox (then it is read again)."""
    match frame.get("type"):
        case "order_event":
            return frame.get("kind") in _ORDER_EVENTS or (
                frame.get("kind") == "status_changed" and frame.get("to_status") in _STATUSES
            )
        case "driver_event":
            return frame.get("kind") == "off_route"
        case "exception_resolved":  # by another dispatcher
            return True
    return False


# --- a new window (the "reschedule" action) -------------------------------------------
SLOT_HOURS = (8, 10, 12, 14, 16, 18)  # two-hour windows starting at these local hours
SLOT_LENGTH = timedelta(hours=2)
RESCHEDULE_DAYS = 7


@dataclass(frozen=True, slots=True)
class Choice:
    key: str
    label: str


def day_choices(today: date) -> list[Choice]:
    """Today and the next six days, as ``YYYY-MM-DD`` keys."""
    days = [today + timedelta(days=i) for i in range(RESCHEDULE_DAYS)]
    names = {0: "Today", 1: "Tomorrow"}
    return [
        Choice(d.isoformat(), f"{names.get(i, d.strftime('%A'))} {d.strftime('%d %b')}")
        for i, d in enumerate(days)
    ]


def slot_choices() -> list[Choice]:
    return [Choice(str(h), f"{h:02d}:00-{h + 2:02d}:00") for h in SLOT_HOURS]


class WindowError(ValueError):
    """A window that cannot be offered; the message says why."""


def new_window(
    day: str | None, slot: str | None, tz: tzinfo, now: datetime
) -> tuple[datetime, datetime]:
    """The window (UTC) of the local ``day`` and ``slot`` picked, refused when incomplete
    or already over at ``now``."""
    if not day or not slot:
        raise WindowError("pick a day and a time window")
    start_local = datetime.combine(date.fromisoformat(day), time(int(slot)), tz)
    start, end = start_local.astimezone(UTC), (start_local + SLOT_LENGTH).astimezone(UTC)
    if end <= now:
        raise WindowError("that window is already over; pick a later one")
    return start, end


def window_words(start: datetime, end: datetime, tz: tzinfo) -> str:
    a, b = start.astimezone(tz), end.astimezone(tz)
    return f"{a.strftime('%a %d %b %H:%M')}-{b.strftime('%H:%M')}"
