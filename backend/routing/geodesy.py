"""Great-circle distances over numpy arrays: the formula of :func:`shared.geo.haversine_m`,
vectorised for the routing code (straight-line matrices, polyline lengths)."""

import numpy as np
import numpy.typing as npt

from shared.geo import EARTH_RADIUS_M

FloatArray = npt.NDArray[np.float64]


def haversine_rad_m(
    lat1: FloatArray, lng1: FloatArray, lat2: FloatArray, lng2: FloatArray
) -> FloatArray:
    """Metres between points given in radians; the arrays broadcast against each other."""
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lng2 - lng1) / 2) ** 2
    )
    distance: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return distance
