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
