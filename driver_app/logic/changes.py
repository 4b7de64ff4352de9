"""What changed in the driver's day between two loads, and keeping the current stop first.

A reload (pushed by the server or asked for) must never silently reorder the stop the
driver is heading to: when dispatch moved it, it stays the next stop, with a notice, until
it is finished or taken off the route. Every other difference is marked on its stop so the
driver sees it.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from driver_app.logic.stops import StopLine, next_stop_index
from shared.lifecycle import DRIVER_TARGETS


class Change(StrEnum):
    """What a reload found different about a stop."""

    NEW = "new"
    MOVED = "moved"
    INSTRUCTIONS = "instructions"
    WINDOW = "window"
    ADDRESS = "address"
    STATUS = "status"


CHANGE_LABELS: Mapping[Change, str] = {
    Change.NEW: "new stop",
    Change.MOVED: "moved",
    Change.INSTRUCTIONS: "new instructions",
    Change.WINDOW: "new time window",
    Change.ADDRESS: "new address",
    Change.STATUS: "status changed by dispatch",
}


def change_label(changes: Iterable[Change]) -> str:
    """``Changed: new instructions · moved``, in a fixed order."""
    wanted = set(changes)
    return "Changed: " + " · ".join(CHANGE_LABELS[c] for c in Change if c in wanted)


def keep_first(fresh: Sequence[StopLine], stop_id: int | None) -> tuple[list[StopLine], bool]:
    """``fresh`` with stop ``stop_id`` moved up to be the next stop if it is still to do
    and something else came first; True when it had to be moved."""
    lines = list(fresh)
    first = next_stop_index(lines)
    at = next((i for i, line in enumerate(lines) if line.stop.id == stop_id), None)
    if first is None or at is None or at == first or lines[at].finished:
        return lines, False
    lines.insert(first, lines.pop(at))
    return lines, True


def _unmoved(positions: Sequence[int]) -> set[int]:
    """The indexes into ``positions`` of one longest increasing run (not necessarily
    contiguous): the stops that kept their order; the rest moved."""
    tails: list[int] = []  # tails[k]: index of the smallest tail of a run of length k + 1
    parent = [-1] * len(positions)
    for i, value in enumerate(positions):
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if positions[tails[mid]] < value:
                lo = mid + 1
            else:
                hi = mid
        parent[i] = tails[lo - 1] if lo > 0 else -1
        if lo == len(tails):
            tails.append(i)
        else:
            tails[lo] = i
    kept, i = set(), tails[-1] if tails else -1
    while i >= 0:
        kept.add(i)
        i = parent[i]
    return kept


def stop_changes(
    before: Sequence[StopLine], after: Sequence[StopLine]
) -> dict[int, frozenset[Change]]:
    """What changed per stop id of ``after`` (stops still to do; a finished stop only when
    dispatch changed its status, e.g. cancelled it). A status the driver moves the order to
    (en route, delivered...) is not a change to point out."""
    old = {line.stop.id: line for line in before}
    was_at = {line.stop.id: i for i, line in enumerate(before)}
    found: dict[int, set[Change]] = {}
    common = [line for line in after if line.stop.id in old]
    kept = _unmoved([was_at[line.stop.id] for line in common])
    for k, line in enumerate(common):
        if k not in kept and not line.finished:
            found.setdefault(line.stop.id, set()).add(Change.MOVED)
    for line in after:
        was = old.get(line.stop.id)
        marks = found.setdefault(line.stop.id, set())
        status = line.order_status
        if was is None:
            if not line.finished:
                marks.add(Change.NEW)
            continue
        if status != was.order_status and status is not None and status not in DRIVER_TARGETS:
            marks.add(Change.STATUS)
        if line.finished:
            continue
        if (line.stop.window_start, line.stop.window_end) != (
            was.stop.window_start,
            was.stop.window_end,
        ):
            marks.add(Change.WINDOW)
        if (line.stop.address, line.stop.lat, line.stop.lng) != (
            was.stop.address,
            was.stop.lat,
            was.stop.lng,
        ):
            marks.add(Change.ADDRESS)
        says = line.order.instructions if line.order is not None else None
        said = was.order.instructions if was.order is not None else None
        if None not in (says, said) and says != said:
            marks.add(Change.INSTRUCTIONS)
    return {stop_id: frozenset(marks) for stop_id, marks in found.items() if marks}


@dataclass(frozen=True, slots=True)
class Reconciled:
    """A fresh load laid over what the driver was looking at."""

    lines: list[StopLine]
    next_index: int | None
    changed: dict[int, frozenset[Change]] = field(default_factory=dict)
    taken_off: list[StopLine] = field(default_factory=list)  # unfinished stops now gone
    kept_first: StopLine | None = None  # kept as the next stop against dispatch's new order


def reconcile(
    before: Sequence[StopLine], before_next: int | None, fresh: Sequence[StopLine]
) -> Reconciled:
    """``fresh`` as the driver should see it after ``before``: the stop they were shown as
    next (the one they are heading to) stays next unless finished or gone, and what
    differs is marked."""
    current = before[before_next].stop.id if before_next is not None else None
    lines, moved = keep_first(fresh, current)
    next_index = next_stop_index(lines)
    present = {line.stop.id for line in lines}
    return Reconciled(
        lines=lines,
        next_index=next_index,
        changed=stop_changes(before, lines),
        taken_off=[line for line in before if line.stop.id not in present and not line.finished],
        kept_first=lines[next_index] if moved and next_index is not None else None,
    )


def kept_first_notice(line: StopLine) -> str:
    return (
        f"Dispatch changed the order of your stops: {line.stop.address} stays your next "
        "stop until you finish it."
    )


def taken_off_notice(lines: Sequence[StopLine]) -> str:
    addresses = ", ".join(line.stop.address for line in lines)
    return f"Taken off your route: {addresses}."
