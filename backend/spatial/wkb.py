"""Shapes as well-known binary (WKB), for PostGIS: exact doubles, no text to parse.

Pure code. Coordinates are whatever plane the caller chose (here: metres in a shape's own
flat projection, see :class:`backend.geofencing.shapes.Plane`), with no SRID.
"""

import struct
from collections.abc import Sequence

_LITTLE_ENDIAN = 1
_LINESTRING = 2
_POLYGON = 3


def _coords(points: Sequence[tuple[float, float]]) -> bytes:
    return struct.pack(f"<I{2 * len(points)}d", len(points), *(c for xy in points for c in xy))


def linestring(points: Sequence[tuple[float, float]]) -> bytes:
    """A line through ``points`` (at least two), as (x, y) pairs."""
    if len(points) < 2:
        raise ValueError("a line needs at least two points")
    return struct.pack("<BI", _LITTLE_ENDIAN, _LINESTRING) + _coords(points)


def polygon(ring: Sequence[tuple[float, float]]) -> bytes:
    """A polygon with the outline ``ring`` (at least three points; closed here if it is not)."""
    if len(ring) < 3:
        raise ValueError("a polygon needs at least three points")
    closed = list(ring) if ring[0] == ring[-1] else [*ring, ring[0]]
    return struct.pack("<BII", _LITTLE_ENDIAN, _POLYGON, 1) + _coords(closed)
