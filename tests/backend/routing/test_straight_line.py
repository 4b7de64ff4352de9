"""The straight-line fallback: haversine x detour factor at a fixed speed, always estimated."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.routing.straight_line import StraightLine
from shared.geo import Point, haversine_m

LINE = StraightLine(detour_factor=1.4, speed_kmh=36.0)  # 10 m/s
NICE = Point(43.7034, 7.2663)
MONACO = Point(43.7384, 7.4246)

points = st.builds(
    Point, st.floats(-80, 80, allow_nan=False), st.floats(-179, 179, allow_nan=False)
)


def test_route_is_crow_distance_times_the_detour_at_the_speed() -> None:
    route = LINE.route([NICE, MONACO])
    crow = haversine_m(NICE, MONACO)
    assert route.distance_m == pytest.approx(crow * 1.4)
    assert route.duration_s == pytest.approx(crow * 1.4 / 10.0)
    assert route.estimated
    assert route.geometry == [NICE, MONACO]


def test_every_answer_is_flagged_estimated() -> None:
    assert LINE.matrix([NICE], [MONACO]).estimated
    assert LINE.nearest(NICE).estimated
    assert LINE.nearest(NICE).point == NICE
    assert LINE.match([NICE, MONACO], [0, 600]).estimated
    assert LINE.match([NICE, MONACO], [0, 600]).duration_s == 600


@given(st.lists(points, min_size=1, max_size=6), st.lists(points, min_size=1, max_size=6))
def test_matrix_equals_the_pairwise_routes(sources: list[Point], targets: list[Point]) -> None:
    matrix = LINE.matrix(sources, targets)
    expected = np.array([[haversine_m(s, t) * 1.4 for t in targets] for s in sources])
    np.testing.assert_allclose(matrix.distances_m, expected, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(matrix.durations_s, expected / 10.0, rtol=1e-9, atol=1e-6)


def test_refuses_a_detour_factor_below_one() -> None:
    with pytest.raises(ValueError, match="detour_factor"):
        StraightLine(detour_factor=0.9, speed_kmh=30)
