"""Routing over the road network: requests and answers of ``/api/v1/routing/*``.

Units: seconds, metres, WGS84 degrees. ``estimated`` is true when any figure came from the
straight-line fallback (great-circle distance times a detour factor at a fixed speed)
rather than from the road network, e.g. for a point outside every imported region.
"""

from typing import Annotated

from pydantic import Field, model_validator

from shared.schemas.common import Latitude, Longitude, OutModel, StrictModel

MAX_MATRIX_SIDE = 1000
MAX_WAYPOINTS = 500
MAX_TRACE_POINTS = 1000


class LatLng(StrictModel):
    lat: Latitude
    lng: Longitude


class LatLngOut(OutModel):
    lat: float
    lng: float


class RouteRequest(StrictModel):
    """Waypoints in the order they are visited."""

    waypoints: Annotated[list[LatLng], Field(min_length=2, max_length=MAX_WAYPOINTS)]


class RouteOut(OutModel):
    duration_s: float
    distance_m: float
    geometry: list[LatLngOut] = Field(description="the path along the roads, first to last")
    leg_durations_s: list[float] = Field(description="one per consecutive pair of waypoints")
    leg_distances_m: list[float]
    estimated: bool


class MatrixRequest(StrictModel):
    """From every source to every destination; without ``destinations``, sources to sources."""

    sources: Annotated[list[LatLng], Field(min_length=1, max_length=MAX_MATRIX_SIDE)]
    destinations: Annotated[
        list[LatLng] | None, Field(min_length=1, max_length=MAX_MATRIX_SIDE)
    ] = None


class MatrixOut(OutModel):
    durations_s: list[list[float | None]] = Field(
        description="row i, column j: from source i to destination j; null if unreachable"
    )
    distances_m: list[list[float | None]]
    estimated: bool


class NearestRequest(StrictModel):
    point: LatLng


class NearestOut(OutModel):
    point: LatLngOut = Field(description="the nearest point on a road")
    distance_m: float = Field(description="from the given point to that road")
    estimated: bool


class MatchRequest(StrictModel):
    """A GPS trace, oldest fix first; ``timestamps_s`` (Unix seconds) helps the matcher."""

    points: Annotated[list[LatLng], Field(min_length=2, max_length=MAX_TRACE_POINTS)]
    timestamps_s: list[float] | None = None

    @model_validator(mode="after")
    def _one_timestamp_per_point(self) -> "MatchRequest":
        if self.timestamps_s is not None:
            if len(self.timestamps_s) != len(self.points):
                raise ValueError("timestamps_s needs exactly one timestamp per point")
            if any(b < a for a, b in zip(self.timestamps_s, self.timestamps_s[1:], strict=False)):
                raise ValueError("timestamps_s must not decrease")
        return self


class MatchOut(OutModel):
    points: list[LatLngOut | None] = Field(
        description="each fix moved onto the road; null where the matcher dropped it"
    )
    geometry: list[LatLngOut] = Field(description="the path driven")
    distance_m: float
    duration_s: float
    confidence: float = Field(description="0 to 1, as the matcher reports it")
    estimated: bool
