"""Where the phone is: the port the GPS streamer reads, whatever gives the position."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Access(StrEnum):
    GRANTED = "granted"
    DENIED = "denied"  # the driver (or the browser) said no
    UNAVAILABLE = "unavailable"  # no GPS here: a desktop, a browser without location


@dataclass(frozen=True, slots=True)
class Reading:
    """One position. Units: WGS84 degrees, m/s, degrees from north, metres."""

    lat: float
    lng: float
    recorded_at: datetime  # timezone-aware UTC
    speed_mps: float | None = None
    heading_deg: float | None = None
    accuracy_m: float | None = None
    altitude_m: float | None = None


class NoPositionError(Exception):
    """No position now. ``lasting`` when asking again will not help (permission taken
    away, location switched off); otherwise the signal may come back (a tunnel)."""

    def __init__(self, reason: str, *, lasting: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.lasting = reason, lasting


class LocationSource(Protocol):
    async def access(self) -> Access:
        """Whether positions can be had, asking the driver for permission when needed."""
        ...

    async def read(self) -> Reading:
        """The current position; :class:`NoPositionError` when there is none."""
        ...
