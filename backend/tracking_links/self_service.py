"""What a customer may change through the tracking link, and until when (pure; no I/O).

Instructions (leave at the door, with a neighbour, a gate code, a note) and the delivery
window (one of the offered slots) can be changed until the driver sets off to the customer.
After that, a window change is refused (the route is running); an instruction change still
reaches the dispatcher, as a request, because "the gate code is 4821" matters even then.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from shared.enums import OrderStatus

S = OrderStatus
# The driver is on the way to the customer (or done): the plan is running.
ON_THE_WAY = frozenset({S.EN_ROUTE, S.ARRIVING})
FINISHED = frozenset({S.DELIVERED, S.RETURNED, S.CANCELLED})

SLOT_HOURS = 2
SLOT_DAY_START = time(8, 0)  # UTC
SLOT_DAY_END = time(20, 0)
SLOT_DAYS = 5
MIN_NOTICE = timedelta(hours=2)


class InstructionOption(StrEnum):
    LEAVE_AT_DOOR = "leave_at_door"
    WITH_NEIGHBOUR = "with_neighbour"
    GATE_CODE = "gate_code"
    NOTE = "note"
    NONE = "none"


class SelfServiceError(ValueError):
    """The change is not acceptable as sent; the message says why."""


def instruction_text(option: InstructionOption, text: str) -> str:
    """The instruction as the driver reads it."""
    text = " ".join(text.split())
    needs_text = {
        InstructionOption.WITH_NEIGHBOUR: "say which neighbour (name or door)",
        InstructionOption.GATE_CODE: "give the gate code",
        InstructionOption.NOTE: "write the note",
    }
    if option in needs_text and not text:
        raise SelfServiceError(f"text: {needs_text[option]}")
    return {
        InstructionOption.LEAVE_AT_DOOR: "Leave at the door" + (f". {text}" if text else ""),
        InstructionOption.WITH_NEIGHBOUR: f"With a neighbour: {text}",
        InstructionOption.GATE_CODE: f"Gate code: {text}",
        InstructionOption.NOTE: text,
        InstructionOption.NONE: "",
    }[option]


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime
    end: datetime


def offered_slots(now: datetime, days: int = SLOT_DAYS) -> list[Slot]:
    """Two-hour windows between 08:00 and 20:00 UTC, from at least two hours ahead, over
    the next ``days`` days."""
    slots = []
    first: date = now.astimezone(UTC).date()
    for offset in range(days + 1):
        day = first + timedelta(days=offset)
        start = datetime.combine(day, SLOT_DAY_START, UTC)
        day_end = datetime.combine(day, SLOT_DAY_END, UTC)
        while start + timedelta(hours=SLOT_HOURS) <= day_end:
            if start >= now + MIN_NOTICE:
                slots.append(Slot(start, start + timedelta(hours=SLOT_HOURS)))
            start += timedelta(hours=SLOT_HOURS)
    return slots


def can_change_window(status: OrderStatus) -> str | None:
    """Why the window cannot be changed now, or None."""
    if status in FINISHED:
        return f"the order is {status.value}; nothing can be changed any more"
    if status in ON_THE_WAY:
        return (
            "the driver is already on the way to you: the time can no longer be changed "
            "here; call the sender, or leave an instruction for the driver"
        )
    return None
