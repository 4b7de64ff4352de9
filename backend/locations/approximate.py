"""What a customer may see of a driver's position: smoothed, then snapped to a coarse grid.

Pure: no framework, no database. Raw coordinates never leave the server for customers; they
get the centre of a ~100 m grid cell instead, chosen from a smoothed track:

1. **Smoothing** — an exponential moving average with a time constant of ``TAU_S`` seconds
   (the weight of a new fix is ``1 - exp(-dt / TAU_S)``), so one noisy fix does not move the
   marker and the customer cannot read the driver's exact stops from it. A gap longer than
   ``RESET_AFTER_S`` restarts the average at the new fix.
2. **Grid snap** — cells of ``GRID_M`` metres (latitude rows of a fixed height; each row's
   longitude step uses the cosine of the row's centre latitude, so cells are square-ish and
   a point always falls into the same cell). The output is the cell centre: at most
   ~0.71 x ``GRID_M`` from the smoothed point.
3. **Hysteresis** — the published cell changes only once the smoothed point is more than
   ``HYSTERESIS_M`` metres outside it, so a driver waiting on a cell border does not flicker
   between two cells (which would give the border away).

Why a grid rather than snapping to the road through the routing engine's ``nearest``: a
lookup per fix costs far more than this arithmetic at 20,000 fixes/s, and a road-snapped
point is *more* precise, which is the opposite of what a customer should get. Units: WGS84
degrees, metres, seconds since the Unix epoch.
"""

import math
from dataclasses import dataclass, field

GRID_M = 100.0
TAU_S = 5.0
RESET_AFTER_S = 120.0
HYSTERESIS_M = 25.0
_M_PER_DEG_LAT = 111_320.0
_LAT_STEP = GRID_M / _M_PER_DEG_LAT


@dataclass(frozen=True, slots=True)
class Cell:
    row: int
    col: int
    # Worked out once per cell, not at every fix that stays in it.
    centre: tuple[float, float] = field(init=False, compare=False)
    m_per_deg_lng: float = field(init=False, compare=False)  # at the centre's latitude

    def __post_init__(self) -> None:
        lat = round((self.row + 0.5) * _LAT_STEP, 5)
        centre = (lat, round((self.col + 0.5) * _lng_step(self.row), 5))
        object.__setattr__(self, "centre", centre)
        object.__setattr__(self, "m_per_deg_lng", _M_PER_DEG_LAT * math.cos(math.radians(lat)))


def _lng_step(row: int) -> float:
    centre_lat = (row + 0.5) * _LAT_STEP
    return _LAT_STEP / max(math.cos(math.radians(centre_lat)), 0.01)


def cell_of(lat: float, lng: float) -> Cell:
    """The grid cell that contains (``lat``, ``lng``)."""
    row = math.floor(lat / _LAT_STEP)
    return Cell(row, math.floor(lng / _lng_step(row)))


def _metres_outside(cell: Cell, lat: float, lng: float) -> float:
    """How far (metres, the larger axis) the point lies outside ``cell``; 0 inside."""
    centre_lat, centre_lng = cell.centre
    dy = abs(lat - centre_lat) * _M_PER_DEG_LAT
    dx = abs(lng - centre_lng) * cell.m_per_deg_lng
    return max(dy - GRID_M / 2, dx - GRID_M / 2, 0.0)


class Approximator:
    """One driver's smoothed, snapped position. Feed it current fixes in time order."""

    __slots__ = ("_at", "_cell", "_lat", "_lng")

    def __init__(self) -> None:
        self._lat = self._lng = self._at = 0.0
        self._cell: Cell | None = None

    @property
    def position(self) -> tuple[float, float] | None:
        """The approximate position last computed (a cell centre), or None before any fix."""
        return self._cell.centre if self._cell else None

    def update(self, lat: float, lng: float, recorded_at: float) -> bool:
        """Take one fix; return True when the approximate position changed."""
        if self._cell is None or not 0 <= recorded_at - self._at <= RESET_AFTER_S:
            if self._cell is not None and recorded_at < self._at:
                return False  # older than what we have: ignore (a replay)
            self._lat, self._lng, self._at = lat, lng, recorded_at
            previous, self._cell = self._cell, cell_of(lat, lng)
            return previous != self._cell
        weight = 1.0 - math.exp(-(recorded_at - self._at) / TAU_S)
        self._lat += weight * (lat - self._lat)
        self._lng += weight * (lng - self._lng)
        self._at = recorded_at
        if _metres_outside(self._cell, self._lat, self._lng) <= HYSTERESIS_M:
            return False
        self._cell = cell_of(self._lat, self._lng)
        return True
