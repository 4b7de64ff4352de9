"""Fence shapes: circles, polygons and corridors, measured in metres.

Each shape answers one question, its signed distance from a point: negative inside (how
far from the border), positive outside. Shapes are city-sized, so each one works in a
local flat projection around its own first point (equirectangular: a metre is a metre to
well under 1 % across 20 km), which keeps a check to a few multiplications.
"""

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.geo import EARTH_RADIUS_M, BBox, Point, bbox_around, bbox_of

M_PER_DEG_LAT = math.pi * EARTH_RADIUS_M / 180


@dataclass(frozen=True, slots=True)
class Plane:
    """A local flat projection: degrees to metres east (x) and north (y) of ``origin``."""

    origin: Point
    m_per_deg_lng: float

    @classmethod
    def at(cls, origin: Point) -> "Plane":
        return cls(origin, M_PER_DEG_LAT * math.cos(math.radians(origin.lat)))

    def xy(self, lat: float, lng: float) -> tuple[float, float]:
        return (lng - self.origin.lng) * self.m_per_deg_lng, (lat - self.origin.lat) * M_PER_DEG_LAT

    def xy_all(self, points: Sequence[Point]) -> list[tuple[float, float]]:
        """:meth:`xy` of every point, in one loop (no call per point: long paths)."""
        lat0, lng0, kx = self.origin.lat, self.origin.lng, self.m_per_deg_lng
        return [((p.lng - lng0) * kx, (p.lat - lat0) * M_PER_DEG_LAT) for p in points]


def _segment_distance(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


@dataclass(frozen=True, slots=True)
class Circle:
    center: Point
    radius_m: float
    _plane: Plane = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.radius_m > 0:
            raise ValueError("a circle needs a radius above 0 m")
        object.__setattr__(self, "_plane", Plane.at(self.center))

    def signed_distance_m(self, lat: float, lng: float) -> float:
        x, y = self._plane.xy(lat, lng)
        return math.hypot(x, y) - self.radius_m

    def within(self, lat: float, lng: float, margin_m: float) -> bool:
        return self.signed_distance_m(lat, lng) <= -margin_m

    def beyond(self, lat: float, lng: float, margin_m: float) -> bool:
        return self.signed_distance_m(lat, lng) > margin_m

    def bbox(self, margin_m: float = 0.0) -> BBox:
        return bbox_around(self.center, self.radius_m + margin_m)


@dataclass(frozen=True, slots=True)
class Polygon:
    """A simple polygon (a zone, a restricted area); the ring need not repeat its first
    vertex."""

    points: tuple[Point, ...]
    _plane: Plane = field(init=False, repr=False, compare=False)
    _ring: tuple[tuple[float, float], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        points = self.points
        if len(points) > 1 and points[0] == points[-1]:
            points = points[:-1]
        if len(points) < 3:
            raise ValueError("a polygon needs at least three distinct vertices")
        plane = Plane.at(points[0])
        object.__setattr__(self, "_plane", plane)
        object.__setattr__(self, "_ring", tuple(plane.xy_all(points)))

    @property
    def plane(self) -> Plane:
        """The flat projection its distances are measured in."""
        return self._plane

    @property
    def ring_xy(self) -> tuple[tuple[float, float], ...]:
        """Its outline in :attr:`plane` (metres), not closed."""
        return self._ring

    def _contains(self, px: float, py: float) -> bool:
        inside = False
        ax, ay = self._ring[-1]
        for bx, by in self._ring:
            if (ay > py) != (by > py) and px < ax + (py - ay) * (bx - ax) / (by - ay):
                inside = not inside
            ax, ay = bx, by
        return inside

    def _border_closer_than(self, px: float, py: float, limit_m: float) -> bool:
        ax, ay = self._ring[-1]
        for bx, by in self._ring:
            if _segment_distance(px, py, ax, ay, bx, by) < limit_m:
                return True
            ax, ay = bx, by
        return False

    def signed_distance_m(self, lat: float, lng: float) -> float:
        px, py = self._plane.xy(lat, lng)
        ring = self._ring
        nearest = min(
            _segment_distance(px, py, ax, ay, bx, by)
            for (ax, ay), (bx, by) in itertools.pairwise((ring[-1], *ring))
        )
        return -nearest if self._contains(px, py) else nearest

    # The engine's two questions, answered without the distance to every edge when the
    # point is on the wrong side anyway (most checks of a zone).
    def within(self, lat: float, lng: float, margin_m: float) -> bool:
        px, py = self._plane.xy(lat, lng)
        return self._contains(px, py) and not (
            margin_m > 0 and self._border_closer_than(px, py, margin_m)
        )

    def beyond(self, lat: float, lng: float, margin_m: float) -> bool:
        px, py = self._plane.xy(lat, lng)
        return not self._contains(px, py) and not self._border_closer_than(
            px, py, max(margin_m, 0.0) + 1e-9
        )

    def bbox(self, margin_m: float = 0.0) -> BBox:
        return _widened(bbox_of(self.points), margin_m)


@dataclass(frozen=True, slots=True)
class Corridor:
    """Everything within ``half_width_m`` of a polyline (a planned route, a road)."""

    points: tuple[Point, ...]
    half_width_m: float
    _plane: Plane = field(init=False, repr=False, compare=False)
    _line: tuple[tuple[float, float], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.points) < 2:
            raise ValueError("a corridor needs at least two points")
        if not self.half_width_m > 0:
            raise ValueError("a corridor needs a width above 0 m")
        plane = Plane.at(self.points[0])
        object.__setattr__(self, "_plane", plane)
        object.__setattr__(self, "_line", tuple(plane.xy_all(self.points)))

    @property
    def plane(self) -> Plane:
        """The flat projection its distances are measured in."""
        return self._plane

    @property
    def line_xy(self) -> tuple[tuple[float, float], ...]:
        """Its line in :attr:`plane` (metres)."""
        return self._line

    def signed_distance_m(self, lat: float, lng: float) -> float:
        px, py = self._plane.xy(lat, lng)
        line = self._line
        nearest = min(
            _segment_distance(px, py, ax, ay, bx, by)
            for (ax, ay), (bx, by) in itertools.pairwise(line)
        )
        return nearest - self.half_width_m

    def _line_closer_than(self, lat: float, lng: float, limit_m: float) -> bool:
        px, py = self._plane.xy(lat, lng)
        return any(
            _segment_distance(px, py, ax, ay, bx, by) <= limit_m
            for (ax, ay), (bx, by) in itertools.pairwise(self._line)
        )

    def within(self, lat: float, lng: float, margin_m: float) -> bool:
        return self._line_closer_than(lat, lng, self.half_width_m - margin_m)

    def beyond(self, lat: float, lng: float, margin_m: float) -> bool:
        return not self._line_closer_than(lat, lng, self.half_width_m + margin_m)

    def bbox(self, margin_m: float = 0.0) -> BBox:
        return _widened(bbox_of(self.points), self.half_width_m + margin_m)


Shape = Circle | Polygon | Corridor


def _widened(box: BBox, margin_m: float) -> BBox:
    low = bbox_around(Point(box.min_lat, box.min_lng), margin_m)
    high = bbox_around(Point(box.max_lat, box.max_lng), margin_m)
    return BBox(low.min_lat, low.min_lng, high.max_lat, high.max_lng)


def size_m(shape: Shape) -> float:
    """A typical size of the shape: a circle's radius, half a polygon's smaller side, a
    corridor's half width. Sets the default hysteresis band."""
    if isinstance(shape, Circle):
        return shape.radius_m
    if isinstance(shape, Corridor):
        return shape.half_width_m
    box = shape.bbox()
    corner = Point(box.min_lat, box.min_lng)
    width = Plane.at(corner).xy(box.min_lat, box.max_lng)[0]
    height = (box.max_lat - box.min_lat) * M_PER_DEG_LAT
    return min(width, height) / 2


def as_points(pairs: Sequence[Sequence[float]]) -> tuple[Point, ...]:
    """``[[lat, lng], ...]`` as points."""
    return tuple(Point(float(lat), float(lng)) for lat, lng in pairs)
