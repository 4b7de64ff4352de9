"""The straight-line fallback: great-circle distance times a detour factor at a fixed speed.

For points outside every loaded region (or when no region is loaded at all). Every result
says ``estimated=True``. Distance in metres = haversine * ``detour_factor``; duration in
seconds = that distance at ``speed_kmh``. Geometry is the straight segments between the
given points; ``nearest`` and ``match`` return the points as given (there is no road to
snap to).
"""

import itertools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from backend.routing.geodesy import haversine_rad_m
from backend.routing.port import RoutingError
from backend.routing.results import MatchedTrace, Matrix, Route, Snap
from shared.geo import Point, haversine_m


def _haversine_grid_m(
    sources: Sequence[Point], destinations: Sequence[Point]
) -> npt.NDArray[np.float64]:
    """Great-circle metres from every source to every destination (same formula as
    :func:`shared.geo.haversine_m`, vectorised)."""
    src = np.radians(np.array(sources, dtype=np.float64).reshape(-1, 2))
    dst = np.radians(np.array(destinations, dtype=np.float64).reshape(-1, 2))
    return haversine_rad_m(src[:, 0:1], src[:, 1:2], dst[:, 0], dst[:, 1])


class StraightLine:
    name = "straight-line"

    def __init__(self, *, detour_factor: float, speed_kmh: float) -> None:
        if detour_factor < 1.0 or speed_kmh <= 0:
            raise ValueError("detour_factor must be >= 1 and speed_kmh > 0")
        self.detour_factor = detour_factor
        self.speed_m_s = speed_kmh / 3.6

    def distance_m(self, a: Point, b: Point) -> float:
        return haversine_m(a, b) * self.detour_factor

    def duration_s(self, distance_m: float) -> float:
        return distance_m / self.speed_m_s

    def matrix(self, sources: Sequence[Point], destinations: Sequence[Point]) -> Matrix:
        distances = _haversine_grid_m(sources, destinations) * self.detour_factor
        return Matrix(durations_s=distances / self.speed_m_s, distances_m=distances, estimated=True)

    def route(self, waypoints: Sequence[Point]) -> Route:
        if len(waypoints) < 2:
            raise RoutingError("a route needs at least two waypoints")
        legs_m = [self.distance_m(a, b) for a, b in itertools.pairwise(waypoints)]
        legs_s = [self.duration_s(m) for m in legs_m]
        return Route(
            duration_s=sum(legs_s),
            distance_m=sum(legs_m),
            geometry=list(waypoints),
            leg_durations_s=legs_s,
            leg_distances_m=legs_m,
            estimated=True,
        )

    def nearest(self, point: Point) -> Snap:
        return Snap(point=point, distance_m=0.0, estimated=True)

    def match(
        self, trace: Sequence[Point], timestamps_s: Sequence[float] | None = None
    ) -> MatchedTrace:
        if len(trace) < 2:
            raise RoutingError("a trace needs at least two fixes")
        route = self.route(trace)
        duration_s = route.duration_s
        if timestamps_s and len(timestamps_s) == len(trace):
            duration_s = float(timestamps_s[-1] - timestamps_s[0])
        return MatchedTrace(
            points=list(trace),
            geometry=list(trace),
            distance_m=route.distance_m,
            duration_s=duration_s,
            confidence=0.0,
            estimated=True,
        )
