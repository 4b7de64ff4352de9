"""Cutting a route's geometry into its legs."""

from backend.routing.legs import split_legs
from backend.routing.results import Route
from shared.geo import Point, haversine_m

M_PER_DEG = 111_195.0
START = Point(43.70, 7.25)


def north(metres: float, east_m: float = 0.0) -> Point:
    return Point(START.lat + metres / M_PER_DEG, START.lng + east_m / (M_PER_DEG * 0.7230))


def test_each_leg_runs_from_its_waypoint_to_the_next_even_when_the_lengths_are_off() -> None:
    # North 1 km to A, a 400 m loop east and back, then north 500 m to B.
    a, b = north(1_000), north(1_500)
    loop = [north(1_000, 200), north(1_100, 200), north(1_100, 0)]
    geometry = [START, north(500), a, *loop, north(1_300), b]
    # The engine measured the legs on its own model: 10 % short, 10 % long.
    route = Route(1_000.0, 2_000.0, geometry, [90.0, 110.0], [900.0, 1_200.0])

    first, second = split_legs(route, [START, a, b])

    assert first[0] == START
    assert haversine_m(first[-1], a) < 1.0
    assert haversine_m(second[0], a) < 1.0
    assert second[-1] == b
    assert loop[0] in second  # the loop belongs to the second leg
    assert loop[0] not in first


def test_a_route_without_leg_lengths_falls_back_to_straight_legs() -> None:
    a, b = north(1_000), north(2_000)
    route = Route(100.0, 2_000.0, [START, b], [], [])

    assert split_legs(route, [START, a, b]) == [[START, a], [a, b]]
