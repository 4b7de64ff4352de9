"""Zone geometry checks: what an admin's drawing may be, and the words when it may not."""

import itertools
import math
import time

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.enums import ZoneKind
from shared.geo import Point, extent_m, ring_self_intersection
from shared.schemas.zones import ZoneCreate, outline_problem, width_problem

LAT, LNG = 43.7384, 7.4246  # Monaco
M_PER_DEG = 111_195.0


def at(north_m: float, east_m: float) -> tuple[float, float]:
    return (
        LAT + north_m / M_PER_DEG,
        LNG + east_m / (M_PER_DEG * math.cos(math.radians(LAT))),
    )


SQUARE = [at(0, 0), at(0, 100), at(100, 100), at(100, 0)]


def polygon_problem(points: list[tuple[float, float]]) -> str | None:
    return outline_problem(ZoneKind.ZONE, points)


def test_a_plain_square_and_a_concave_outline_are_fine() -> None:
    assert polygon_problem(SQUARE) is None
    l_shape = [at(0, 0), at(0, 200), at(100, 200), at(100, 100), at(200, 100), at(200, 0)]
    assert polygon_problem(l_shape) is None


def test_a_figure_eight_crosses_itself() -> None:
    bow_tie = [at(0, 0), at(100, 100), at(100, 0), at(0, 100)]
    problem = polygon_problem(bow_tie)
    assert problem is not None
    assert "crosses itself: edge 0-1 meets edge 2-3" in problem


def test_a_vertex_resting_on_another_edge_touches_it() -> None:
    # The fifth point sits exactly on the first edge: two rooms joined at a point.
    pinched = [at(0, 0), at(0, 200), at(100, 200), at(100, 100), at(0, 100), at(-100, 50)]
    assert "crosses itself" in (polygon_problem(pinched) or "")


def test_a_spike_folding_back_along_its_edge_touches_it() -> None:
    spike = [at(0, 0), at(0, 100), at(0, 50), at(100, 50)]
    assert "crosses itself" in (polygon_problem(spike) or "")


def test_too_few_distinct_points_repeats_and_flat_outlines_are_named() -> None:
    assert polygon_problem([at(0, 0), at(0, 100), at(0, 0)]) == (
        "a polygon needs at least three distinct points (got 2)"
    )
    doubled = [at(0, 0), at(0, 100), at(0, 100), at(100, 100)]
    assert polygon_problem(doubled) == "points 1 and 2 are the same place"
    in_line = [at(0, 0), at(0, 100), at(0, 200)]
    assert polygon_problem(in_line) == "the polygon encloses no area (its points are in one line)"


def test_a_closed_ring_is_accepted_and_stored_open() -> None:
    zone = ZoneCreate(name="Old town", kind=ZoneKind.ZONE, points=[*SQUARE, SQUARE[0]])
    assert zone.points == SQUARE


def test_a_zone_wider_than_a_city_is_refused_also_across_the_antimeridian() -> None:
    wide = [at(0, 0), at(0, 60_000), at(1_000, 60_000), at(1_000, 0)]
    assert "at most 50 km" in (polygon_problem(wide) or "")
    across = [(10.0, 179.99), (10.0, -179.99), (10.01, -179.99), (10.01, 179.99)]
    assert "at most 50 km" in (polygon_problem(across) or "")


def test_corridors_need_a_line_and_a_width_polygons_no_width() -> None:
    zigzag = [at(0, 0), at(100, 100), at(100, 0), at(0, 100)]  # a road may cross itself
    assert outline_problem(ZoneKind.CORRIDOR, zigzag) is None
    assert outline_problem(ZoneKind.CORRIDOR, [at(0, 0), at(0, 0)]) == (
        "a corridor needs at least two distinct points"
    )
    assert width_problem(ZoneKind.CORRIDOR, 30.0) is None
    assert "needs width_m" in (width_problem(ZoneKind.CORRIDOR, None) or "")
    assert width_problem(ZoneKind.RESTRICTED, 30.0) == (
        "width_m is for corridors only, not a restricted"
    )
    with pytest.raises(ValidationError) as missing:
        ZoneCreate(name="Road", kind=ZoneKind.CORRIDOR, points=zigzag)
    assert [e["loc"] for e in missing.value.errors()] == [("width_m",)]


def test_field_limits_come_from_the_schema() -> None:
    with pytest.raises(ValidationError) as narrow:
        ZoneCreate(name="Road", kind=ZoneKind.CORRIDOR, points=SQUARE, width_m=5)
    assert narrow.value.errors()[0]["loc"] == ("width_m",)
    with pytest.raises(ValidationError) as many:
        ZoneCreate(name="Coast", kind=ZoneKind.ZONE, points=[at(0, k) for k in range(1001)])
    assert many.value.errors()[0]["loc"] == ("points",)
    with pytest.raises(ValidationError) as off_earth:
        ZoneCreate(name="Pole", kind=ZoneKind.ZONE, points=[(91.0, 0.0), *SQUARE])
    assert off_earth.value.errors()[0]["loc"] == ("points", 0, 0)


def test_a_thousand_point_outline_is_checked_quickly() -> None:
    circle = [
        at(2_000 * math.sin(a), 2_000 * math.cos(a))
        for a in (2 * math.pi * k / 1000 for k in range(1000))
    ]
    started = time.perf_counter()
    assert polygon_problem(circle) is None
    assert time.perf_counter() - started < 0.5
    circle[500], circle[10] = circle[10], circle[500]  # one point thrown across the circle
    assert "crosses itself" in (polygon_problem(circle) or "")


# A star-shaped outline (points by increasing angle around a centre inside it) never crosses
# itself.
angles = st.lists(st.floats(0, 2 * math.pi, exclude_max=True), min_size=3, max_size=40, unique=True)
radii = st.lists(st.floats(50, 2_000), min_size=40, max_size=40)


@given(angles, radii)
def test_star_shaped_outlines_are_simple(turns: list[float], lengths: list[float]) -> None:
    ordered = sorted(turns)
    gaps = [b - a for a, b in itertools.pairwise([*ordered, ordered[0] + 2 * math.pi])]
    assume(max(gaps) < math.pi)  # the centre sees every edge from inside
    assume(min(gaps) > 0.01)  # nearly equal angles: slivers thinner than the tolerance
    ring = [
        Point(*at(r * math.sin(a), r * math.cos(a)))
        for a, r in zip(ordered, lengths[: len(ordered)], strict=True)
    ]
    assert ring_self_intersection(ring) is None


@given(st.integers(5, 60), st.data())
def test_swapping_two_far_apart_points_of_a_convex_outline_crosses_it(
    n: int, data: st.DataObject
) -> None:
    ring = [Point(*at(500 * math.sin(a), 500 * math.cos(a))) for a in _angles(n)]
    i = data.draw(st.integers(0, n - 1))
    j = (i + data.draw(st.integers(2, n - 2))) % n  # not neighbours
    ring[i], ring[j] = ring[j], ring[i]
    assert ring_self_intersection(ring) is not None


def _angles(n: int) -> list[float]:
    return [2 * math.pi * k / n for k in range(n)]


def test_extent_is_metres_across() -> None:
    north_south, east_west = extent_m([Point(*p) for p in SQUARE])
    assert north_south == pytest.approx(100, rel=0.01)
    assert east_west == pytest.approx(100, rel=0.01)
