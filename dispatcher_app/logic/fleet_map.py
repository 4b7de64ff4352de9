"""What the dispatcher's live map shows (pure): drivers coloured by status with their
heading and how long ago they were last seen, stops coloured by their order's state, and
the coalescer that turns a stream of ``positions`` frames into a few renders a second."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.enums import DriverStatus, OrderStatus
from shared.schemas.orders import StopOut

LatLng = tuple[float, float]

# A driver not heard from for this long is greyed: the dot may no longer be where they are.
STALE_AFTER_S = 120.0


class Tone(StrEnum):
    """A marker's colour, named for what it means (the view picks the paint)."""

    MOVING = "moving"
    WORKING = "working"
    IDLE = "idle"
    PAUSED = "paused"
    OFF = "off"
    STALE = "stale"
    DONE = "done"
    TROUBLE = "trouble"
    WAITING = "waiting"


_DRIVER_TONES = {
    DriverStatus.EN_ROUTE: Tone.MOVING,
    DriverStatus.DELIVERING: Tone.WORKING,
    DriverStatus.IDLE: Tone.IDLE,
    DriverStatus.ON_BREAK: Tone.PAUSED,
    DriverStatus.OFFLINE: Tone.OFF,
}

_STOP_TONES = {
    OrderStatus.CREATED: Tone.WAITING,
    OrderStatus.ASSIGNED: Tone.WAITING,
    OrderStatus.RESCHEDULED: Tone.WAITING,
    OrderStatus.EN_ROUTE_TO_PICKUP: Tone.MOVING,
    OrderStatus.PICKED_UP: Tone.MOVING,
    OrderStatus.EN_ROUTE: Tone.MOVING,
    OrderStatus.ARRIVING: Tone.WORKING,
    OrderStatus.DELIVERED: Tone.DONE,
    OrderStatus.CANCELLED: Tone.DONE,
    OrderStatus.FAILED: Tone.TROUBLE,
    OrderStatus.RETURNED: Tone.TROUBLE,
}


@dataclass(frozen=True, slots=True)
class Position:
    """A driver's latest fix as the fleet socket sends it."""

    driver_id: int
    lat: float
    lng: float
    recorded_at: datetime
    speed_mps: float | None = None
    heading_deg: float | None = None


def parse_positions(frame: Mapping[str, Any]) -> list[Position]:
    """The positions of a ``positions`` frame; malformed entries are skipped."""
    out = []
    for raw in frame.get("positions") or []:
        try:
            out.append(
                Position(
                    driver_id=int(raw["driver_id"]),
                    lat=float(raw["lat"]),
                    lng=float(raw["lng"]),
                    recorded_at=datetime.fromisoformat(str(raw["recorded_at"])),
                    speed_mps=_float(raw.get("speed_mps")),
                    heading_deg=_float(raw.get("heading_deg")),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return out


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def age_s(recorded_at: datetime, now: datetime) -> float:
    return max(0.0, (now - recorded_at).total_seconds())


def seen_ago(recorded_at: datetime | None, now: datetime) -> str:
    """``12 s ago``, ``5 min ago``, ``2 h ago``; ``never seen`` without a fix."""
    if recorded_at is None:
        return "never seen"
    seconds = int(age_s(recorded_at, now))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86_400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86_400} d ago"


def driver_tone(status: DriverStatus, recorded_at: datetime | None, now: datetime) -> Tone:
    """The status colour, grey once the last fix is older than ``STALE_AFTER_S``."""
    if recorded_at is None or age_s(recorded_at, now) > STALE_AFTER_S:
        return Tone.STALE
    return _DRIVER_TONES[status]


def stop_tone(status: OrderStatus | None) -> Tone:
    return Tone.WAITING if status is None else _STOP_TONES[status]


def arrow_turns(heading_deg: float | None) -> float:
    """The arrow's rotation in turns (0 = north, clockwise); no heading: pointing north."""
    return 0.0 if heading_deg is None else (heading_deg % 360.0) / 360.0


def route_stops(stops: Iterable[StopOut]) -> list[StopOut]:
    """A route's stops in their driving order (unsequenced ones last, by id)."""
    return sorted(stops, key=lambda s: (s.sequence is None, s.sequence or 0, s.id))


def stop_time(stop: StopOut) -> datetime | None:
    """What the card shows as the stop's time: the live ETA, else the planned arrival."""
    return stop.eta_at or stop.planned_arrival_at


def fit_points(points: Sequence[LatLng]) -> list[LatLng]:
    """The corners of the box around ``points`` (what the camera fits at the start)."""
    if not points:
        return []
    lats = [p[0] for p in points]
    lngs = [p[1] for p in points]
    return [(min(lats), min(lngs)), (max(lats), max(lngs))]


class Coalescer:
    """Latest position per driver since the last :meth:`take`.

    Frames arrive up to ten times a second with hundreds of drivers each; the map is drawn
    a few times a second from what :meth:`take` hands over, so a busy fleet costs one
    render per tick whatever the frame rate. An older fix never replaces a newer one.
    """

    def __init__(self) -> None:
        self._pending: dict[int, Position] = {}
        self.frames = 0

    def add(self, positions: Iterable[Position]) -> None:
        self.frames += 1
        for p in positions:
            held = self._pending.get(p.driver_id)
            if held is None or held.recorded_at <= p.recorded_at:
                self._pending[p.driver_id] = p

    def __len__(self) -> int:
        return len(self._pending)

    def take(self) -> dict[int, Position]:
        pending, self._pending = self._pending, {}
        return pending


def merge(
    current: Mapping[int, Position], update: Mapping[int, Position]
) -> tuple[dict[int, Position], int]:
    """``current`` with the newer fixes of ``update``; how many drivers changed."""
    merged = dict(current)
    changed = 0
    for driver_id, p in update.items():
        held = merged.get(driver_id)
        if held is None or held.recorded_at < p.recorded_at:
            merged[driver_id] = p
            changed += 1
    return merged, changed
