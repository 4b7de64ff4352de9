"""Zones an admin draws: polygons (delivery areas, restricted areas) and corridors."""

from datetime import datetime
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from shared.enums import ZoneKind
from shared.geo import Point, extent_m, in_one_line, ring_area_m2, ring_self_intersection
from shared.schemas.common import Latitude, Longitude, OutModel, StrictModel

MAX_POINTS = 1000
MAX_EXTENT_M = 50_000.0  # a zone is part of a city, not a country (and never spans ±180°)
MIN_WIDTH_M, MAX_WIDTH_M = 10.0, 5000.0
MIN_AREA_M2 = 1.0

LatLng = Annotated[tuple[Latitude, Longitude], Field(description="[lat, lng], WGS84 degrees")]
Points = Annotated[
    list[LatLng],
    Field(
        min_length=2,
        max_length=MAX_POINTS,
        description="a polygon's outline (3 or more points; a closing point equal to the "
        "first is dropped) or a corridor's centre line (2 or more points)",
    ),
]
Width = Annotated[
    float,
    Field(
        ge=MIN_WIDTH_M,
        le=MAX_WIDTH_M,
        allow_inf_nan=False,
        description="corridors only: the full width in metres, centred on the line",
    ),
]
Dwell = Annotated[
    float,
    Field(
        ge=0,
        le=86_400,
        allow_inf_nan=False,
        description="seconds inside after which dispatch hears a 'zone_dwell'; empty: never",
    ),
]


def is_polygon(kind: ZoneKind) -> bool:
    return kind is not ZoneKind.CORRIDOR


def outline_problem(kind: ZoneKind, points: list[tuple[float, float]]) -> str | None:
    """What is wrong with a zone's points, in words for whoever drew them; None if nothing.

    ``points`` as sent (``[lat, lng]`` pairs, in range). A polygon needs three distinct
    points enclosing some area, with no edge crossing or touching another; a corridor's
    line two distinct points. Neither may span more than ``MAX_EXTENT_M``.
    """
    at = [Point(lat, lng) for lat, lng in points]
    distinct = len(set(at))
    north_south, east_west = extent_m(at)
    if max(north_south, east_west) > MAX_EXTENT_M:
        return (
            f"a zone may span at most {MAX_EXTENT_M / 1000:g} km; this one spans "
            f"{north_south / 1000:.0f} km north-south and {east_west / 1000:.0f} km east-west"
        )
    if not is_polygon(kind):
        return "a corridor needs at least two distinct points" if distinct < 2 else None
    if distinct < 3:
        return f"a polygon needs at least three distinct points (got {distinct})"
    if len(at) > 3 and at[0] == at[-1]:
        at.pop()
    for i in range(len(at)):
        if at[i] == at[i - 1]:
            return f"points {(i - 1) % len(at)} and {i} are the same place"
    if in_one_line(at):
        return "the polygon encloses no area (its points are in one line)"
    crossing = ring_self_intersection(at)
    if crossing is not None:
        i, j = crossing
        n = len(at)
        return (
            f"the polygon's outline crosses itself: edge {i}-{(i + 1) % n} meets "
            f"edge {j}-{(j + 1) % n} (points numbered from 0)"
        )
    if ring_area_m2(at) < MIN_AREA_M2:
        return f"the polygon encloses less than {MIN_AREA_M2:g} m²"
    return None


def width_problem(kind: ZoneKind, width_m: float | None) -> str | None:
    """A corridor needs its width, a polygon has none."""
    if is_polygon(kind):
        return None if width_m is None else f"width_m is for corridors only, not a {kind.value}"
    return (
        f"a corridor needs width_m ({MIN_WIDTH_M:g}-{MAX_WIDTH_M:g} m)" if width_m is None else None
    )


class ZoneCreate(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    kind: ZoneKind
    points: Points
    width_m: Width | None = Field(default=None, validate_default=True)
    active: bool = True
    dwell_s: Dwell | None = None

    @field_validator("points")
    @classmethod
    def _valid_outline(
        cls, points: list[tuple[float, float]], info: ValidationInfo
    ) -> list[tuple[float, float]]:
        kind = info.data.get("kind")
        if kind is None:  # refused on its own
            return points
        problem = outline_problem(kind, points)
        if problem is not None:
            raise ValueError(problem)
        if is_polygon(kind) and len(points) > 3 and points[0] == points[-1]:
            return points[:-1]
        return points

    @field_validator("width_m")
    @classmethod
    def _valid_width(cls, width_m: float | None, info: ValidationInfo) -> float | None:
        kind = info.data.get("kind")
        problem = None if kind is None else width_problem(kind, width_m)
        if problem is not None:
            raise ValueError(problem)
        return width_m


class ZoneUpdate(StrictModel):
    """Only the fields sent change. Turning a corridor into a polygon drops its width."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: ZoneKind | None = None
    points: Points | None = None
    width_m: Width | None = None
    active: bool | None = None
    dwell_s: Dwell | None = None


class ZoneOut(OutModel):
    id: int
    org_id: int
    name: str
    kind: ZoneKind
    points: list[tuple[float, float]]
    width_m: float | None
    active: bool
    dwell_s: float | None
    created_at: datetime
    updated_at: datetime
