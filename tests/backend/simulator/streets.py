"""A real Monaco street and a routing fake that drives along given polylines."""

import itertools
from collections.abc import Sequence

from backend.routing.results import Route
from shared.geo import Point, haversine_m

# Boulevard Albert 1er, northbound (one-way), OSM ways 4226740, 166399479, 161882794 (ODbL,
# © OpenStreetMap contributors), from regions/monaco.osm.pbf: about 456 m.
BOULEVARD_ALBERT_1ER = [
    Point(*p)
    for p in [
        (43.7328624, 7.4221705), (43.7329303, 7.4221017), (43.7331723, 7.4219364),
        (43.7332777, 7.4218827), (43.7334288, 7.4218004), (43.7335567, 7.4217285),
        (43.7336014, 7.4217058), (43.7336727, 7.4216684), (43.733722, 7.4216422),
        (43.7339309, 7.4215567), (43.7341781, 7.4214629), (43.7343821, 7.4213956),
        (43.734428, 7.4213847), (43.7344802, 7.4213722), (43.7347806, 7.4213059),
        (43.7352207, 7.421245), (43.7353903, 7.421226), (43.7354374, 7.4212204),
        (43.7357435, 7.4212121), (43.7357741, 7.4212113), (43.7359964, 7.4212324),
        (43.7361473, 7.4212611), (43.7363487, 7.4213244), (43.7364875, 7.4213997),
        (43.7365324, 7.421419), (43.7368006, 7.4215954),
    ]
]  # fmt: skip

CITY_SPEED_MPS = 11.0  # ~40 km/h, what a car profile gives such a boulevard


def path_length_m(points: Sequence[Point]) -> float:
    return sum(haversine_m(a, b) for a, b in itertools.pairwise(points))


def street_legs(stop_vertices: Sequence[int]) -> tuple[list[float], list[float]]:
    """Leg distances and durations along the boulevard from vertex 0 to each stop vertex."""
    distances, previous = [], 0
    for v in stop_vertices:
        distances.append(path_length_m(BOULEVARD_ALBERT_1ER[previous : v + 1]))
        previous = v
    return distances, [d / CITY_SPEED_MPS for d in distances]


class StraightRouting:
    """Routes straight between waypoints at ``CITY_SPEED_MPS`` (a fake engine for tests)."""

    name = "fake-straight"

    def __init__(self) -> None:
        self.calls: list[list[Point]] = []

    def route(self, waypoints: Sequence[Point]) -> Route:
        self.calls.append(list(waypoints))
        legs = [haversine_m(a, b) for a, b in itertools.pairwise(waypoints)]
        return Route(
            duration_s=sum(legs) / CITY_SPEED_MPS,
            distance_m=sum(legs),
            geometry=list(waypoints),
            leg_durations_s=[d / CITY_SPEED_MPS for d in legs],
            leg_distances_m=legs,
            estimated=True,
        )
