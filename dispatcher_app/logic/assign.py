"""A change to the day in words: each stop's arrival before and after, the windows it
misses, and moving an open stop up or down a driver's sequence."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

from app_kit.time_windows import format_window
from dispatcher_app.logic.planning import duration_text
from shared.enums import StopKind
from shared.schemas.optimization import RouteChange, StopChange


@dataclass(frozen=True, slots=True)
class StopLine:
    """One stop of a changed route, already in words."""

    stop_id: int
    number: str  # its place on the route ("" for a stop leaving it)
    label: str  # reference, recipient, pickup or drop-off
    address: str
    window: str
    eta: str  # "10:12 (was 10:05)", "new · 10:12", "10:05 · leaves this route"
    late: str | None  # "late by 12 min" after the change, None when in time
    late_before: bool
    locked: bool
    added: bool
    removed: bool
    can_move_up: bool
    can_move_down: bool


def _hhmm(at: datetime | None, tz: tzinfo) -> str:
    if at is None:
        return "no time"
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return f"{aware.astimezone(tz):%H:%M}"


def _late(seconds: int | None) -> str | None:
    return f"late by {duration_text(seconds)}" if seconds else None


def _label(stop: StopChange) -> str:
    kind = "pickup" if stop.kind is StopKind.PICKUP else "drop-off"
    return f"{stop.reference or f'#{stop.order_id}'} · {stop.recipient_name} · {kind}"


def stop_lines(route: RouteChange, *, tz: tzinfo, today: date, editable: bool) -> list[StopLine]:
    """The route's stops after the change, then those leaving it. ``editable``: open stops
    may be moved (this driver's sequence is being edited)."""
    open_ids = [s.stop_id for s in route.stops if not s.locked]
    lines = []
    for number, stop in enumerate(route.stops, start=1):
        if stop.locked:
            planned = f"{_hhmm(stop.eta_after, tz)} · " if stop.eta_after else ""
            eta = f"{planned}done or under way"
        elif stop.added:
            eta = f"new · {_hhmm(stop.eta_after, tz)}"
        else:
            eta = _then(_hhmm(stop.eta_before, tz), _hhmm(stop.eta_after, tz))
        place = open_ids.index(stop.stop_id) if stop.stop_id in open_ids else -1
        lines.append(
            StopLine(
                stop.stop_id,
                str(number),
                _label(stop),
                stop.address,
                format_window(stop.window_start, stop.window_end, tz=tz, today=today),
                eta,
                _late(stop.late_after_s),
                stop.late_before_s is not None,
                stop.locked,
                stop.added,
                False,
                editable and place > 0,
                editable and 0 <= place < len(open_ids) - 1,
            )
        )
    for stop in route.removed:
        lines.append(
            StopLine(
                stop.stop_id,
                "",
                _label(stop),
                stop.address,
                format_window(stop.window_start, stop.window_end, tz=tz, today=today),
                f"{_hhmm(stop.eta_before, tz)} · leaves this route",
                None,
                stop.late_before_s is not None,
                False,
                False,
                True,
                False,
                False,
            )
        )
    return lines


def route_title(route: RouteChange, names: Mapping[int, str]) -> str:
    name = names.get(route.driver_id) or f"Driver #{route.driver_id}"
    if route.route_id is None:
        return f"{name} · new route"
    status = route.status.value.replace("_", " ") if route.status else ""
    return f"{name} · route #{route.route_id} · {status}"


def _then(before: str, after: str) -> str:
    """``after``, and what it was when that differs (the bundled fonts have no arrows)."""
    return after if before == after else f"{after} (was {before})"


def route_summary(route: RouteChange) -> str:
    """Stops, late stops and driving after the change, with what they were."""
    count = f"{len(route.stops)} stop{'' if len(route.stops) == 1 else 's'}"
    late = f"{_then(str(route.late_before), str(route.late_after))} late"
    drive = _then(duration_text(route.drive_s_before), duration_text(route.drive_s_after))
    return f"{count} · {late} · driving {drive}"


def moved(route: RouteChange, stop_id: int, step: int) -> list[int] | None:
    """The route's open stops with ``stop_id`` moved ``step`` places (-1 up, +1 down); None
    when it cannot move (done or under way, or already first or last)."""
    open_ids = [s.stop_id for s in route.stops if not s.locked]
    if stop_id not in open_ids:
        return None
    here = open_ids.index(stop_id)
    there = here + step
    if not 0 <= there < len(open_ids):
        return None
    open_ids[here], open_ids[there] = open_ids[there], open_ids[here]
    return open_ids


def open_stops(routes: Sequence[RouteChange], driver_id: int) -> list[int]:
    """The driver's open stops in the previewed order."""
    for route in routes:
        if route.driver_id == driver_id:
            return [s.stop_id for s in route.stops if not s.locked]
    return []
