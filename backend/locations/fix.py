"""A location fix as the pipeline handles it (pure; no framework, no database).

Units: WGS84 degrees, seconds since the Unix epoch (UTC) for times, m/s, degrees clockwise
from north, metres, battery in percent (0-100).
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple


class Source(StrEnum):
    """Which ingest path a fix came through."""

    APP = "app"  # our driver app: HTTP batch or WebSocket
    OSMAND = "osmand"  # OsmAnd / Traccar Client
    OWNTRACKS = "owntracks"
    OVERLAND = "overland"
    SIMULATOR = "simulator"


@dataclass(frozen=True, slots=True)
class DriverRef:
    """Whose fixes these are: resolved from the caller's token or device, never the body."""

    org_id: int
    driver_id: int


class Fix(NamedTuple):
    """Immutable. A named tuple rather than a frozen dataclass: built for every fix at
    20,000+ fixes/s, and a frozen dataclass costs ten times as much to build."""

    lat: float
    lng: float
    recorded_at: float  # epoch seconds, when the phone took the fix
    received_at: float  # epoch seconds, when the server got it
    speed_mps: float | None = None
    heading_deg: float | None = None
    accuracy_m: float | None = None
    altitude_m: float | None = None
    battery: float | None = None
    source: Source = Source.APP


class Rejection(StrEnum):
    """Why the cleaning chain dropped a fix; each is counted (see the metrics)."""

    INVALID = "invalid"  # NaN, out of range, unparsable
    ZERO = "zero"  # (0, 0): a phone with no fix yet
    DUPLICATE = "duplicate"
    FUTURE = "future"  # beyond the clock-skew allowance
    TOO_OLD = "too_old"
    POOR_ACCURACY = "poor_accuracy"
    IMPOSSIBLE_SPEED = "impossible_speed"


@dataclass(frozen=True, slots=True)
class Rejected:
    index: int  # position in the batch the sender sent
    reason: Rejection
    message: str


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What the sender is told. ``accepted`` fixes are durable before this is returned."""

    accepted: int
    rejected: list[Rejected]
    # How many accepted fixes were older than the driver's current position: stored in
    # history (an offline replay) without moving the current position backwards.
    history_only: int = 0
