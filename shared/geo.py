"""Geodesy helpers on WGS84 degrees. Distances in metres, bearings in degrees from north.

Spherical formulas (mean Earth radius): good to about 0.5 % over delivery distances,
which is what straight-line checks (geofences, GPS plausibility) need. Road distances come
from the routing engine, never from here.
"""

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

EARTH_RADIUS_M = 6_371_008.8


class Point(NamedTuple):
    lat: float
    lng: float


class BBox(NamedTuple):
    min_lat: float
    min_lng: float
    max_lat: float
    max_lng: float

    def contains(self, p: Point) -> bool:
        return self.min_lat <= p.lat <= self.max_lat and self.min_lng <= p.lng <= self.max_lng


def haversine_m(a: Point, b: Point) -> float:
    """Great-circle distance between ``a`` and ``b`` in metres."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lng - a.lng)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(a: Point, b: Point) -> float:
    """Initial bearing from ``a`` to ``b``, degrees clockwise from north in [0, 360)."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dlmb = math.radians(b.lng - a.lng)
    y = math.sin(dlmb) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlmb)
    bearing = math.degrees(math.atan2(y, x)) % 360.0
    # A tiny negative angle rounds up to exactly 360.0 under %, which is north again.
    return 0.0 if bearing >= 360.0 else bearing


def bbox_of(points: Iterable[Point]) -> BBox:
    """Smallest lat/lng box holding every point. Raises ValueError on no points."""
    pts = list(points)
    if not pts:
        raise ValueError("bbox_of needs at least one point")
    lats = [p.lat for p in pts]
    lngs = [p.lng for p in pts]
    return BBox(min(lats), min(lngs), max(lats), max(lngs))


def bbox_around(center: Point, radius_m: float) -> BBox:
    """A box that holds the circle of ``radius_m`` metres around ``center``.

    Used as a cheap prefilter before an exact distance test; near the poles the longitude
    span is widened to the whole range rather than dividing by ~0.
    """
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    cos_lat = math.cos(math.radians(center.lat))
    dlng = (
        180.0 if cos_lat < 1e-9 else min(180.0, math.degrees(radius_m / (EARTH_RADIUS_M * cos_lat)))
    )
    return BBox(
        max(-90.0, center.lat - dlat),
        max(-180.0, center.lng - dlng),
        min(90.0, center.lat + dlat),
        min(180.0, center.lng + dlng),
    )


def point_in_polygon(p: Point, polygon: Sequence[Point]) -> bool:
    """Whether ``p`` lies inside ``polygon`` (a ring of at least three vertices).

    Even-odd ray casting in the lat/lng plane, fine for city-sized polygons that do not
    cross the antimeridian. The ring may or may not repeat its first vertex at the end.
    """
    n = len(polygon)
    if n < 3:
        raise ValueError("a polygon needs at least three vertices")
    inside = False
    j = n - 1
    for i in range(n):
        yi, xi = polygon[i].lat, polygon[i].lng
        yj, xj = polygon[j].lat, polygon[j].lng
        if (yi > p.lat) != (yj > p.lat):
            x_cross = xi + (p.lat - yi) * (xj - xi) / (yj - yi)
            if p.lng < x_cross:
                inside = not inside
        j = i
    return inside


def extent_m(points: Iterable[Point]) -> tuple[float, float]:
    """How far ``points`` spread north-south and east-west, in metres (the sides of their
    bounding box, the east-west one at its widest latitude)."""
    box = bbox_of(points)
    north_south = math.radians(box.max_lat - box.min_lat) * EARTH_RADIUS_M
    widest = max(math.cos(math.radians(box.min_lat)), math.cos(math.radians(box.max_lat)))
    if box.min_lat <= 0 <= box.max_lat:
        widest = 1.0
    east_west = math.radians(box.max_lng - box.min_lng) * EARTH_RADIUS_M * widest
    return north_south, east_west


_M_PER_DEG = math.pi * EARTH_RADIUS_M / 180
_COLLINEAR_M2 = 1e-6  # cross products this small (square metres): the three points are in line


def _plane(points: Sequence[Point]) -> list[tuple[float, float]]:
    """Metres east and north of the first point (equirectangular: city-sized shapes)."""
    origin = points[0]
    m_per_deg_lng = _M_PER_DEG * math.cos(math.radians(origin.lat))
    return [
        ((p.lng - origin.lng) * m_per_deg_lng, (p.lat - origin.lat) * _M_PER_DEG) for p in points
    ]


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _side(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> int:
    cross = _cross(o, a, b)
    return 0 if abs(cross) <= _COLLINEAR_M2 else (1 if cross > 0 else -1)


def _on_segment(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> bool:
    """``p``, known to be in line with ``a``-``b``, lies between them."""
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def _segments_touch(
    a: tuple[float, float], b: tuple[float, float], c: tuple[float, float], d: tuple[float, float]
) -> bool:
    abc, abd, cda, cdb = _side(a, b, c), _side(a, b, d), _side(c, d, a), _side(c, d, b)
    if abc * abd < 0 and cda * cdb < 0:
        return True  # a proper crossing
    return (
        (abc == 0 and _on_segment(c, a, b))
        or (abd == 0 and _on_segment(d, a, b))
        or (cda == 0 and _on_segment(a, c, d))
        or (cdb == 0 and _on_segment(b, c, d))
    )


def ring_area_m2(ring: Sequence[Point]) -> float:
    """The area a ring of points encloses, in square metres (shoelace formula in a local
    flat plane; the ring need not repeat its first point)."""
    xy = _plane(ring)
    twice = sum(_cross((0.0, 0.0), xy[i - 1], xy[i]) for i in range(len(xy)))
    return abs(twice) / 2


def in_one_line(points: Sequence[Point]) -> bool:
    """Whether ``points`` (distinct ones) all lie on one straight line, to within a
    millimetre or so."""
    xy = _plane(points)
    return all(_side(xy[0], xy[i], xy[i + 1]) == 0 for i in range(1, len(xy) - 1))


def ring_self_intersection(ring: Sequence[Point]) -> tuple[int, int] | None:
    """Two edges of a ring that cross or touch, else None (a simple polygon).

    Edge ``i`` joins point ``i`` to point ``i + 1`` (the last edge closes the ring back to
    point 0; the ring need not repeat its first point). Adjacent edges only share their
    common point; folding back along each other counts as touching. Edges are swept in
    order of their west end, so only those whose east-west spans overlap are compared:
    about n log n for a drawn outline, n² at worst (a zigzag of long parallel edges).
    """
    points = list(ring)
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()
    n = len(points)
    xy = _plane(points)
    edges = [(xy[i], xy[(i + 1) % n]) for i in range(n)]
    west = [min(a[0], b[0]) for a, b in edges]
    east = [max(a[0], b[0]) for a, b in edges]
    order = sorted(range(n), key=west.__getitem__)
    for k, i in enumerate(order):
        a, b = edges[i]
        low, high = min(a[1], b[1]), max(a[1], b[1])
        for j in order[k + 1 :]:
            if west[j] > east[i]:
                break
            c, d = edges[j]
            if max(c[1], d[1]) < low or min(c[1], d[1]) > high:
                continue
            first, second = min(i, j), max(i, j)
            if second == first + 1 or (first == 0 and second == n - 1):
                # Adjacent: they share one point; a fold back along the other is a touch.
                before, after = (first, second) if second == first + 1 else (second, first)
                p, q = edges[before]
                r = edges[after][1]
                u, v = (q[0] - p[0], q[1] - p[1]), (r[0] - q[0], r[1] - q[1])
                if _side(p, q, r) == 0 and u[0] * v[0] + u[1] * v[1] < 0:
                    return first, second
            elif _segments_touch(a, b, c, d):
                return first, second
    return None
