"""Turn OSRM answers (as plain JSON-like values) into the port's results.

Both OSRM engines speak the same service protocol (v5 ``route``, ``table``, ``nearest``,
``match``): the embedded one converts the bindings' objects into dicts and lists first, the
HTTP one parses JSON. Everything here is pure: no ``osrm``, no network.

OSRM snaps every input coordinate to the nearest road however far it is (a point in Paris
lands on a road in Monaco, 680 km away); :func:`check_snaps` refuses those with
:class:`OffRoadError` instead. Units: seconds, metres, WGS84 degrees; OSRM writes
coordinates as ``[lng, lat]``.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from backend.routing.port import OffRoadError, RoutingError
from backend.routing.results import MatchedTrace, Route, Snap
from shared.geo import Point

Json = Mapping[str, Any]


def lnglat(points: Sequence[Point]) -> list[tuple[float, float]]:
    """OSRM's coordinate order: longitude first."""
    return [(p.lng, p.lat) for p in points]


def point_of(location: Sequence[float]) -> Point:
    return Point(lat=float(location[1]), lng=float(location[0]))


def check_code(answer: Json) -> None:
    """Raise :class:`RoutingError` unless OSRM answered ``Ok``."""
    code = answer.get("code")
    if code != "Ok":
        raise RoutingError(f"OSRM answered {code}: {answer.get('message', 'no message')}")


def check_snaps(points: Sequence[Point], waypoints: Sequence[Json], limit_m: float | None) -> None:
    """Refuse any point OSRM had to move farther than ``limit_m`` metres to reach a road."""
    if limit_m is None:
        return
    for point, waypoint in zip(points, waypoints, strict=True):
        distance_m = float(waypoint["distance"])
        if distance_m > limit_m:
            raise OffRoadError(point, distance_m, limit_m)


POLYLINE_PRECISION = 6  # OSRM's "polyline6": coordinates to a millionth of a degree


def geometry_of(geometry: Json | str) -> list[Point]:
    """A GeoJSON LineString, or an encoded polyline (``polyline6``), as points."""
    if isinstance(geometry, str):
        return decode_polyline(geometry, POLYLINE_PRECISION)
    return [point_of(c) for c in geometry["coordinates"]]


def decode_polyline(text: str, precision: int = 5) -> list[Point]:
    """The points of an encoded polyline (Google's algorithm; OSRM writes it with
    ``precision`` 6 as ``polyline6``), decoded with numpy: a route of a thousand points
    costs a fraction of reading the same geometry as GeoJSON, point by point.

    Each number is a zig-zag signed delta from the previous point's, in 5-bit groups
    (lowest first) offset by 63; a group without its 0x20 bit ends the number; numbers
    alternate latitude, longitude.
    """
    if not text:
        return []
    try:
        chars = np.frombuffer(text.encode("ascii"), dtype=np.uint8).astype(np.int64) - 63
    except UnicodeEncodeError as exc:
        raise RoutingError("the engine sent a geometry that is not an encoded polyline") from exc
    if chars.min() < 0 or chars.max() > 63:
        raise RoutingError("the engine sent a geometry that is not an encoded polyline")
    ends = np.flatnonzero((chars & 0x20) == 0)
    if ends.size == 0 or ends[-1] != chars.size - 1 or ends.size % 2:
        raise RoutingError("the engine sent a truncated encoded polyline")
    starts = np.empty_like(ends)
    starts[0], starts[1:] = 0, ends[:-1] + 1
    place = np.arange(chars.size) - np.repeat(starts, ends - starts + 1)
    if place.max() > 11:  # 12 groups of 5 bits: more than any coordinate needs
        raise RoutingError("the engine sent an encoded polyline with an absurd number")
    numbers = np.add.reduceat((chars & 0x1F) << (5 * place), starts)
    deltas = np.where(numbers & 1, ~(numbers >> 1), numbers >> 1)
    coords = np.cumsum(deltas.reshape(-1, 2), axis=0) / 10**precision
    return [Point(lat, lng) for lat, lng in coords.tolist()]


def parse_route(answer: Json, waypoints: Sequence[Point], limit_m: float | None) -> Route:
    check_code(answer)
    check_snaps(waypoints, answer["waypoints"], limit_m)
    best = answer["routes"][0]
    legs = best["legs"]
    return Route(
        duration_s=float(best["duration"]),
        distance_m=float(best["distance"]),
        geometry=geometry_of(best["geometry"]),
        leg_durations_s=[float(leg["duration"]) for leg in legs],
        leg_distances_m=[float(leg["distance"]) for leg in legs],
    )


def parse_nearest(answer: Json, point: Point, limit_m: float | None) -> Snap:
    check_code(answer)
    waypoints = answer["waypoints"]
    if not waypoints:
        raise OffRoadError(point, None, limit_m or 0.0)
    check_snaps([point], waypoints[:1], limit_m)
    best = waypoints[0]
    return Snap(point=point_of(best["location"]), distance_m=float(best["distance"]))


def table_array(rows: Sequence[Sequence[float | None]] | None, shape: tuple[int, int]) -> Any:
    """A table annotation as a float64 array; OSRM's ``null`` (unreachable) becomes NaN."""
    if rows is None:
        raise RoutingError("OSRM left an annotation out of the table answer")
    array: npt.NDArray[np.float64] = np.array(rows, dtype=np.float64).reshape(shape)
    return array


def parse_match(answer: Json, trace: Sequence[Point]) -> MatchedTrace:
    """Several matchings (the trace split at gaps) are joined into one path."""
    code = answer.get("code")
    if code == "NoMatch":
        raise RoutingError("this trace cannot be matched to any road")
    check_code(answer)
    matchings = answer["matchings"]
    geometry: list[Point] = []
    for matching in matchings:
        geometry.extend(geometry_of(matching["geometry"]))
    snapped: list[Point | None] = [
        None if tp is None else point_of(tp["location"]) for tp in answer["tracepoints"]
    ]
    if len(snapped) != len(trace):
        raise RoutingError("OSRM returned a different number of trace points")
    weights = [float(m["distance"]) for m in matchings]
    total_m = sum(weights)
    confidence = (
        sum(float(m["confidence"]) * w for m, w in zip(matchings, weights, strict=True)) / total_m
        if total_m > 0
        else min((float(m["confidence"]) for m in matchings), default=0.0)
    )
    return MatchedTrace(
        points=snapped,
        geometry=geometry,
        distance_m=total_m,
        duration_s=sum(float(m["duration"]) for m in matchings),
        confidence=confidence,
    )


def table_layout(
    sources: Sequence[Point], destinations: Sequence[Point]
) -> tuple[list[Point], list[int] | None, list[int] | None]:
    """Coordinates and source/destination indices for one table request.

    The same list on both sides (the usual all-to-all case) is sent once, so a 1000 x 1000
    matrix is 1000 coordinates, not 2000.
    """
    if list(sources) == list(destinations):
        return list(sources), None, None
    n = len(sources)
    coords = [*sources, *destinations]
    return coords, list(range(n)), list(range(n, n + len(destinations)))
