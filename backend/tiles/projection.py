"""Web Mercator (EPSG:3857) and the XYZ tile grid, in pure Python and NumPy.

Coordinates live in three spaces:

* WGS84 degrees: ``lng`` east, ``lat`` north.
* "world" units: Web Mercator normalised to the unit square, ``x`` in [0, 1] from 180° W
  eastwards and ``y`` in [0, 1] from 85.0511° N southwards (the y axis points down, like
  pixels). Metres on the projection are ``world * EARTH_CIRCUMFERENCE_M`` shifted by half.
* tile pixels: at zoom ``z`` the world is ``2**z`` tiles of ``TILE_SIZE_PX`` pixels a side;
  tile ``(x, y)`` covers world ``[x / 2**z, (x + 1) / 2**z)`` and likewise in y.
"""

import math

import numpy as np
import numpy.typing as npt

TILE_SIZE_PX = 256
MAX_ZOOM = 20
"""Deepest zoom we accept; anything beyond is refused rather than rendered blurry."""
MAX_LAT = 85.0511287798066
"""Latitude (degrees) where Web Mercator's square ends: atan(sinh(pi))."""
EARTH_CIRCUMFERENCE_M = 2 * math.pi * 6_378_137.0
"""Equatorial circumference of the WGS84 sphere Web Mercator uses, in metres."""

FloatArray = npt.NDArray[np.float64]
WorldBox = tuple[float, float, float, float]
"""(min_x, min_y, max_x, max_y) in world units."""


def lnglat_to_world(lng: float, lat: float) -> tuple[float, float]:
    """WGS84 degrees to world units; latitudes beyond ±85.0511° are clamped to the edge."""
    lat = max(-MAX_LAT, min(MAX_LAT, lat))
    x = (lng + 180.0) / 360.0
    sin_lat = math.sin(math.radians(lat))
    y = 0.5 - math.log((1 + sin_lat) / (1 - sin_lat)) / (4 * math.pi)
    return x, y


def world_to_lnglat(x: float, y: float) -> tuple[float, float]:
    """World units to WGS84 degrees (inverse of :func:`lnglat_to_world`)."""
    lng = x * 360.0 - 180.0
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y))))
    return lng, lat


def lnglat_to_world_array(lng: FloatArray, lat: FloatArray) -> FloatArray:
    """Vectorised :func:`lnglat_to_world`: two arrays of degrees to an ``(n, 2)`` array."""
    lat = np.clip(lat, -MAX_LAT, MAX_LAT)
    sin_lat = np.sin(np.radians(lat))
    out = np.empty((len(lng), 2), dtype=np.float64)
    out[:, 0] = (lng + 180.0) / 360.0
    out[:, 1] = 0.5 - np.log((1 + sin_lat) / (1 - sin_lat)) / (4 * np.pi)
    return out


def world_to_mercator_m(x: float, y: float) -> tuple[float, float]:
    """World units to EPSG:3857 metres (east, north from the equator at Greenwich)."""
    return (x - 0.5) * EARTH_CIRCUMFERENCE_M, (0.5 - y) * EARTH_CIRCUMFERENCE_M


def is_valid_tile(z: int, x: int, y: int, max_zoom: int = MAX_ZOOM) -> bool:
    """True when ``z/x/y`` names a tile that exists: 0 <= z <= max_zoom, x and y on the grid."""
    if not 0 <= z <= max_zoom:
        return False
    n = 1 << z
    return 0 <= x < n and 0 <= y < n


def tile_world_bounds(z: int, x: int, y: int) -> WorldBox:
    """The world box a tile covers: (min_x, min_y, max_x, max_y); min_y is its top edge."""
    size = 1.0 / (1 << z)
    return x * size, y * size, (x + 1) * size, (y + 1) * size


def tile_lnglat_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """A tile's extent in degrees: (west, south, east, north)."""
    min_x, min_y, max_x, max_y = tile_world_bounds(z, x, y)
    west, north = world_to_lnglat(min_x, min_y)
    east, south = world_to_lnglat(max_x, max_y)
    return west, south, east, north


def world_to_tile(x: float, y: float, z: int) -> tuple[int, int]:
    """The tile (x, y) at zoom ``z`` that contains a world point (edges clamp into the grid)."""
    n = 1 << z
    return min(n - 1, max(0, math.floor(x * n))), min(n - 1, max(0, math.floor(y * n)))


def lnglat_to_tile(lng: float, lat: float, z: int) -> tuple[int, int]:
    """The tile (x, y) at zoom ``z`` that contains a WGS84 point."""
    return world_to_tile(*lnglat_to_world(lng, lat), z)


def world_to_tile_pixel(
    x: float, y: float, z: int, tile_x: int, tile_y: int, size_px: int = TILE_SIZE_PX
) -> tuple[float, float]:
    """Where a world point falls in tile ``(tile_x, tile_y)``, in pixels from its top-left
    corner (may be outside [0, size_px) for points off the tile)."""
    n = 1 << z
    return (x * n - tile_x) * size_px, (y * n - tile_y) * size_px


def boxes_intersect(a: WorldBox, b: WorldBox) -> bool:
    """Whether two closed world boxes overlap (touching counts)."""
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]
