"""What the routing port answers: plain Python and NumPy values, never engine objects.

Units: seconds, metres, WGS84 degrees. ``estimated`` is True when a figure came from the
straight-line fallback rather than the road network.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shared.geo import Point


@dataclass(frozen=True, slots=True)
class Snap:
    """Where a point meets the road network."""

    point: Point  # on the road
    distance_m: float  # from the given point to the road
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class Route:
    duration_s: float
    distance_m: float
    geometry: list[Point]  # along the roads, first point to last
    leg_durations_s: list[float]  # one per consecutive pair of waypoints
    leg_distances_m: list[float]
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class Matrix:
    """``durations_s[i, j]`` from source i to destination j (NaN: unreachable)."""

    durations_s: npt.NDArray[np.float64]
    distances_m: npt.NDArray[np.float64]
    estimated: bool = False  # True if any cell came from the straight-line fallback


@dataclass(frozen=True, slots=True)
class MatchedTrace:
    """A GPS trace fitted to the roads."""

    points: list[Point | None]  # each fix snapped to the road, None where it was dropped
    geometry: list[Point]  # the path driven
    distance_m: float
    duration_s: float
    confidence: float  # 0..1, as the engine reports it
    estimated: bool = False
