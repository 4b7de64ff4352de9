"""Geo helpers: known distances, and properties that must hold everywhere (Hypothesis)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.geo import BBox, Point, bbox_around, bbox_of, bearing_deg, haversine_m, point_in_polygon

lats = st.floats(min_value=-89.9, max_value=89.9, allow_nan=False)
lngs = st.floats(min_value=-179.9, max_value=179.9, allow_nan=False)
points = st.builds(Point, lats, lngs)


def test_known_distances() -> None:
    monaco_casino = Point(43.7396, 7.4276)
    nice_airport = Point(43.6584, 7.2159)
    assert haversine_m(monaco_casino, nice_airport) == pytest.approx(19_200, rel=0.02)
    assert haversine_m(Point(0, 0), Point(0, 1)) == pytest.approx(111_195, rel=1e-3)


def test_bearings_point_the_right_way() -> None:
    origin = Point(43.0, 7.0)
    assert bearing_deg(origin, Point(44.0, 7.0)) == pytest.approx(0, abs=1e-6)
    assert bearing_deg(origin, Point(43.0, 7.1)) == pytest.approx(90, abs=0.1)
    assert bearing_deg(origin, Point(42.0, 7.0)) == pytest.approx(180, abs=1e-6)
    assert bearing_deg(origin, Point(43.0, 6.9)) == pytest.approx(270, abs=0.1)


@given(points, points)
def test_distance_is_symmetric_and_non_negative(a: Point, b: Point) -> None:
    assert haversine_m(a, b) == pytest.approx(haversine_m(b, a), abs=1e-6)
    assert haversine_m(a, b) >= 0
    assert haversine_m(a, a) == 0


@given(points, points, points)
def test_triangle_inequality(a: Point, b: Point, c: Point) -> None:
    assert haversine_m(a, c) <= haversine_m(a, b) + haversine_m(b, c) + 1e-6


@given(points, points)
def test_bearing_is_in_range(a: Point, b: Point) -> None:
    assert 0 <= bearing_deg(a, b) < 360


@given(points, st.floats(min_value=1, max_value=50_000), st.floats(0, 359.9), st.floats(0, 0.99))
def test_circle_box_holds_every_point_of_the_circle(
    center: Point, radius_m: float, angle: float, fraction: float
) -> None:
    # A point at fraction*radius in direction `angle` (local flat approximation).
    d = radius_m * fraction
    dlat = math.degrees(d * math.cos(math.radians(angle)) / 6_371_008.8)
    dlng = math.degrees(
        d * math.sin(math.radians(angle)) / (6_371_008.8 * math.cos(math.radians(center.lat)))
    )
    inside = Point(center.lat + dlat, center.lng + dlng)
    if abs(inside.lng) <= 180 and abs(inside.lat) <= 90:
        assert bbox_around(center, radius_m).contains(inside)


@given(st.lists(points, min_size=1, max_size=20))
def test_bbox_of_contains_all_points(pts: list[Point]) -> None:
    box = bbox_of(pts)
    assert all(box.contains(p) for p in pts)
    assert isinstance(box, BBox)


def test_bbox_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one point"):
        bbox_of([])


SQUARE = [Point(0, 0), Point(0, 10), Point(10, 10), Point(10, 0)]
L_SHAPE = [Point(0, 0), Point(0, 10), Point(4, 10), Point(4, 4), Point(10, 4), Point(10, 0)]


@pytest.mark.parametrize(
    ("polygon", "point", "inside"),
    [
        (SQUARE, Point(5, 5), True),
        (SQUARE, Point(11, 5), False),
        (SQUARE, Point(-0.1, 5), False),
        (L_SHAPE, Point(2, 8), True),
        (L_SHAPE, Point(8, 8), False),  # the notch of the L
        (L_SHAPE, Point(8, 2), True),
        ([*SQUARE, SQUARE[0]], Point(5, 5), True),  # closed ring
    ],
)
def test_point_in_polygon(polygon: list[Point], point: Point, inside: bool) -> None:
    assert point_in_polygon(point, polygon) is inside


@given(st.floats(0.01, 9.99), st.floats(0.01, 9.99))
def test_every_interior_point_of_the_square_is_inside(lat: float, lng: float) -> None:
    assert point_in_polygon(Point(lat, lng), SQUARE)


def test_degenerate_polygon_is_an_error() -> None:
    with pytest.raises(ValueError, match="three vertices"):
        point_in_polygon(Point(0, 0), SQUARE[:2])
