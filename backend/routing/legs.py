"""A route's legs: where along its geometry each waypoint is, and each leg's own path.

Pure (numpy). An engine's route gives one geometry for all its waypoints and each leg's
length measured on its own road model; :func:`leg_boundaries_m` scales those lengths onto
the geometry and :func:`anchor_boundaries_m` moves each boundary to where the path really
passes the waypoint. The simulator drives legs this way; the ETAs follow them.
"""

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from backend.routing.geodesy import haversine_rad_m
from backend.routing.results import Route
from shared.geo import Point, bearing_deg

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class Polyline:
    """A path of WGS84 points with cumulative haversine distances (metres) at its vertices."""

    points: tuple[Point, ...]
    cumulative_m: FloatArray = field(repr=False)

    @classmethod
    def of(cls, points: Sequence[Point]) -> "Polyline":
        if not points:
            raise ValueError("a polyline needs at least one point")
        kept = tuple(Point(p.lat, p.lng) for p in points)
        coords = np.radians(np.array(kept, dtype=np.float64).reshape(-1, 2))
        lat, lng = coords[:, 0], coords[:, 1]
        steps = haversine_rad_m(lat[:-1], lng[:-1], lat[1:], lng[1:])
        cumulative = np.concatenate(([0.0], np.cumsum(steps, dtype=np.float64)))
        return cls(kept, cumulative)

    @property
    def length_m(self) -> float:
        return float(self.cumulative_m[-1])

    def _segment(self, distance_m: float) -> int:
        """Index i of the segment [i, i+1] holding ``distance_m`` (the earlier one at a vertex)."""
        i = int(np.searchsorted(self.cumulative_m, distance_m, side="left")) - 1
        return min(max(i, 0), max(len(self.points) - 2, 0))

    def point_at(self, distance_m: float) -> Point:
        """The point ``distance_m`` metres along the path (clamped to its ends)."""
        if len(self.points) == 1:
            return self.points[0]
        d = min(max(distance_m, 0.0), self.length_m)
        i = self._segment(d)
        start, end = float(self.cumulative_m[i]), float(self.cumulative_m[i + 1])
        a, b = self.points[i], self.points[i + 1]
        f = 0.0 if end <= start else (d - start) / (end - start)
        return Point(a.lat + f * (b.lat - a.lat), a.lng + f * (b.lng - a.lng))

    def heading_at(self, distance_m: float) -> float:
        """Bearing (degrees from north) of the segment at ``distance_m``; 0 for a single point.

        Zero-length segments (repeated vertices) are skipped, looking back first, so a
        vehicle standing at a vertex keeps the heading it arrived with.
        """
        n = len(self.points)
        i = self._segment(min(max(distance_m, 0.0), self.length_m))
        for j in [*range(i, -1, -1), *range(i + 1, n - 1)]:
            if self.cumulative_m[j + 1] > self.cumulative_m[j]:
                return bearing_deg(self.points[j], self.points[j + 1])
        return 0.0


def anchor_boundaries_m(
    polyline: Polyline, bounds: FloatArray, leg_ends: Sequence[Point]
) -> FloatArray:
    """``bounds`` moved to where the path actually passes each leg's end point.

    Scaled leg distances drift along a long day (each engine measures roads its own way):
    thirty legs in, a "stop" could land 150 m from its address. Each boundary is put at
    the path point nearest to the leg's end, searched forward from the previous boundary;
    where the path passes the point more than once (a loop), the pass nearest the scaled
    estimate wins.
    """
    if len(leg_ends) != len(bounds) - 1 or len(polyline.points) < 2:
        return bounds
    lat0 = math.radians(polyline.points[0].lat)
    xs = np.array([p.lng for p in polyline.points]) * math.cos(lat0) * 111_195.0
    ys = np.array([p.lat for p in polyline.points]) * 111_195.0
    cum = polyline.cumulative_m
    out = bounds.copy()
    for k in range(1, len(bounds) - 1):
        start, span = out[k - 1], 2.0 * (bounds[k] - bounds[k - 1]) + 100.0
        lo = max(int(np.searchsorted(cum, start, side="right")) - 1, 0)
        hi = min(int(np.searchsorted(cum, bounds[k] + span, side="right")), len(xs) - 1)
        if hi <= lo:
            continue
        ax, ay, bx, by = xs[lo:hi], ys[lo:hi], xs[lo + 1 : hi + 1], ys[lo + 1 : hi + 1]
        px = leg_ends[k - 1].lng * math.cos(lat0) * 111_195.0
        py = leg_ends[k - 1].lat * 111_195.0
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.where(length2 > 0, ((px - ax) * dx + (py - ay) * dy) / length2, 0.0)
        f = np.clip(f, 0.0, 1.0)
        gap = np.hypot(ax + f * dx - px, ay + f * dy - py)
        along = cum[lo:hi] + f * (cum[lo + 1 : hi + 1] - cum[lo:hi])
        # A loop can pass the stop twice: of the passes as close as the closest (1 m), the
        # one nearest the scaled estimate is the leg's end.
        near = gap <= float(gap.min()) + 1.0
        best = int(np.argmin(np.where(near, np.abs(along - bounds[k]), np.inf)))
        out[k] = min(max(float(along[best]), start), polyline.length_m)
    return out


def leg_boundaries_m(polyline: Polyline, leg_distances_m: Sequence[float]) -> FloatArray:
    """Where each leg starts and ends along ``polyline``: ``len(legs) + 1`` distances, metres.

    The engine's leg distances are measured on its own road model; they are scaled to the
    haversine length of the geometry so the last boundary is exactly the polyline's end.
    """
    legs = np.asarray(leg_distances_m, dtype=np.float64)
    if legs.size == 0:
        raise ValueError("a route needs at least one leg")
    if np.any(legs < 0) or not np.all(np.isfinite(legs)):
        raise ValueError("leg distances must be finite and non-negative")
    total = float(legs.sum())
    fractions = np.cumsum(legs) / total if total > 0 else np.ones(legs.size)
    return np.concatenate(([0.0], fractions * polyline.length_m))


def split_legs(route: Route, waypoints: Sequence[Point]) -> list[list[Point]]:
    """Each leg's path (from waypoint ``i`` to ``i + 1``), cut out of ``route.geometry``."""
    legs = len(waypoints) - 1
    if legs < 1 or len(route.geometry) < 2 or len(route.leg_distances_m) != legs:
        return [[a, b] for a, b in itertools.pairwise(waypoints)]
    polyline = Polyline.of(route.geometry)
    bounds = anchor_boundaries_m(
        polyline, leg_boundaries_m(polyline, route.leg_distances_m), waypoints[1:]
    )
    out = []
    cum = polyline.cumulative_m
    points = polyline.points
    for k in range(legs):
        a, b = float(bounds[k]), float(bounds[k + 1])
        # The vertices strictly between a and b (cum never decreases).
        first = int(np.searchsorted(cum, a, side="right"))
        last = int(np.searchsorted(cum, b, side="left"))
        out.append([polyline.point_at(a), *points[first:last], polyline.point_at(b)])
    return out
