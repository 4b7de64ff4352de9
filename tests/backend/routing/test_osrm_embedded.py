"""The in-process OSRM engine on the bundled Monaco extract (car profile, CH)."""

import itertools

import numpy as np
import pytest

from backend.routing.osrm_embedded import EmbeddedOsrm
from backend.routing.port import OffRoadError, RoutingError
from shared.geo import Point, haversine_m

# The issue's facts: (lon 7.41337, lat 43.72956) -> (7.41546, 43.73077), ~43 s and ~615 m.
A = Point(lat=43.72956, lng=7.41337)
B = Point(lat=43.73077, lng=7.41546)
PARIS = Point(lat=48.8566, lng=2.3522)
CASINO = Point(lat=43.73942, lng=7.42768)
STADE = Point(lat=43.72766, lng=7.41548)


def test_route_matches_the_issue_facts(embedded: EmbeddedOsrm) -> None:
    route = embedded.route([A, B])
    assert route.duration_s == pytest.approx(43, rel=0.15)
    assert route.distance_m == pytest.approx(615, rel=0.15)
    assert not route.estimated
    assert route.leg_durations_s == [pytest.approx(route.duration_s)]
    assert route.leg_distances_m == [pytest.approx(route.distance_m)]
    # Full geometry along the streets, starting and ending at the snapped ends.
    assert len(route.geometry) > 10
    assert haversine_m(route.geometry[0], A) < 20
    assert haversine_m(route.geometry[-1], B) < 20
    path_m = sum(
        haversine_m(a, b) for a, b in zip(route.geometry, route.geometry[1:], strict=False)
    )
    assert path_m == pytest.approx(route.distance_m, rel=0.05)


def test_the_reverse_is_much_shorter_because_of_one_way_streets(embedded: EmbeddedOsrm) -> None:
    there = embedded.route([A, B])
    back = embedded.route([B, A])
    assert back.duration_s < there.duration_s / 2
    assert back.distance_m < there.distance_m / 2


def test_a_point_in_paris_is_refused_not_snapped(embedded: EmbeddedOsrm) -> None:
    with pytest.raises(OffRoadError, match="too far from any known road") as caught:
        embedded.route([A, PARIS])
    assert caught.value.point == PARIS
    assert caught.value.distance_m is not None
    assert caught.value.distance_m > 500_000
    with pytest.raises(OffRoadError):
        embedded.nearest(PARIS)
    with pytest.raises(OffRoadError):
        embedded.matrix([A, B], [PARIS])


def test_matrix_cells_equal_the_routes(embedded: EmbeddedOsrm) -> None:
    points = [A, B, CASINO, STADE]
    matrix = embedded.matrix(points, points)
    assert matrix.durations_s.shape == (4, 4)
    assert matrix.distances_m.shape == (4, 4)
    assert np.all(np.diag(matrix.durations_s) == 0)
    for i, origin in enumerate(points):
        for j, target in enumerate(points):
            if i == j:
                continue
            route = embedded.route([origin, target])
            assert matrix.durations_s[i, j] == pytest.approx(route.duration_s, abs=0.05)
            assert matrix.distances_m[i, j] == pytest.approx(route.distance_m, abs=0.5)


def test_rectangular_matrix_keeps_sources_and_destinations_apart(
    embedded: EmbeddedOsrm,
) -> None:
    square = embedded.matrix([A, B, CASINO], [A, B, CASINO, STADE])
    part = embedded.matrix([B, CASINO], [STADE, A, B])
    assert part.durations_s.shape == (2, 3)
    np.testing.assert_array_equal(part.durations_s, square.durations_s[np.ix_([1, 2], [3, 0, 1])])
    assert embedded.matrix([], [A]).durations_s.shape == (0, 1)


def test_nearest_snaps_onto_a_road(embedded: EmbeddedOsrm) -> None:
    on_road = embedded.nearest(A).point
    near = Point(on_road.lat - 0.0002, on_road.lng + 0.0002)  # ~30 m off, towards the sea
    snap = embedded.nearest(near)
    assert 0 < snap.distance_m <= haversine_m(near, on_road) + 0.5
    assert snap.distance_m == pytest.approx(haversine_m(near, snap.point), abs=1.0)
    assert not snap.estimated


def test_match_fits_a_noisy_trace_onto_the_roads(embedded: EmbeddedOsrm) -> None:
    route = embedded.route([CASINO, STADE])
    truth = _every(route.geometry, 40.0)  # a fix every 40 m, as a phone at ~30 km/h sends
    rng = np.random.default_rng(7)
    sigma_deg = 6e-5  # ~6 m of GPS noise per axis
    noisy = [
        Point(p.lat + rng.normal(0, sigma_deg), p.lng + rng.normal(0, sigma_deg)) for p in truth
    ]
    matched = embedded.match(noisy, [5.0 * i for i in range(len(noisy))])
    assert 0 < matched.confidence <= 1
    pairs = [(m, t) for m, t in zip(matched.points, truth, strict=False) if m is not None]
    assert len(pairs) >= len(noisy) * 0.8
    assert max(embedded.nearest(m).distance_m for m, _ in pairs) < 2.0  # on a road
    errors_m = [haversine_m(m, t) for m, t in pairs]
    assert np.mean(errors_m) < np.mean(
        [haversine_m(n, t) for n, t in zip(noisy, truth, strict=False)]
    )
    assert matched.distance_m == pytest.approx(route.distance_m, rel=0.25)


def _every(path: list[Point], step_m: float) -> list[Point]:
    """Points along ``path`` every ``step_m`` metres (linear in degrees between vertices)."""
    out = [path[0]]
    carried = 0.0
    for a, b in itertools.pairwise(path):
        length = haversine_m(a, b)
        position = step_m - carried
        while position <= length:
            f = position / length
            out.append(Point(a.lat + f * (b.lat - a.lat), a.lng + f * (b.lng - a.lng)))
            position += step_m
        carried = (carried + length) % step_m
    return out


def test_too_few_points_is_an_error(embedded: EmbeddedOsrm) -> None:
    with pytest.raises(RoutingError):
        embedded.route([A])
    with pytest.raises(RoutingError):
        embedded.match([A])
