"""RoadRouter: roads inside the region, estimates just outside, refusals off-road or far away."""

from pathlib import Path

import numpy as np
import pytest

from backend.config import Settings
from backend.routing.port import OffRoadError
from backend.routing.router import (
    OutsideRegionsError,
    RoadRouter,
    create_routing,
    fallback_router,
)
from backend.routing.startup import load_routing
from shared.geo import Point
from tests.backend.routing.test_osrm_embedded import CASINO, PARIS, A, B
from tests.conftest import make_settings

NICE = Point(43.7034, 7.2663)  # ~7 km west of the Monaco extract's box: fallback
SEA = Point(43.715, 7.48)  # inside the box, ~4 km from the nearest road: off-road


def test_inside_the_region_goes_by_road(road_router: RoadRouter) -> None:
    route = road_router.route([A, B])
    assert not route.estimated
    assert route.duration_s == pytest.approx(43, rel=0.15)
    assert not road_router.matrix([A, B], [A, B]).estimated
    assert not road_router.nearest(A).estimated


def test_just_outside_the_region_is_a_flagged_estimate(road_router: RoadRouter) -> None:
    route = road_router.route([CASINO, NICE])
    assert route.estimated
    assert route.geometry == [CASINO, NICE]
    snap = road_router.nearest(NICE)
    assert snap.estimated
    assert snap.point == NICE


def test_paris_is_refused_with_a_clear_message(road_router: RoadRouter) -> None:
    with pytest.raises(OutsideRegionsError, match="outside the loaded road network") as caught:
        road_router.route([A, PARIS])
    assert isinstance(caught.value, OffRoadError)
    assert "monaco" in str(caught.value)
    with pytest.raises(OffRoadError):
        road_router.matrix([A], [PARIS])


def test_far_from_any_road_inside_the_region_is_refused(road_router: RoadRouter) -> None:
    with pytest.raises(OffRoadError, match="too far from any known road"):
        road_router.nearest(SEA)
    with pytest.raises(OffRoadError):
        road_router.route([A, SEA])


def test_mixed_matrix_uses_roads_where_it_can(road_router: RoadRouter) -> None:
    mixed = road_router.matrix([A, NICE], [B, CASINO])
    by_road = road_router.matrix([A], [B, CASINO])
    assert mixed.estimated
    np.testing.assert_array_equal(mixed.durations_s[0], by_road.durations_s[0])
    rough = road_router.fallback.matrix([NICE], [B, CASINO])
    np.testing.assert_allclose(mixed.durations_s[1], rough.durations_s[0])


def test_route_through_an_outside_point_joins_road_and_straight_legs(
    road_router: RoadRouter,
) -> None:
    route = road_router.route([A, B, NICE])
    by_road = road_router.route([A, B])
    assert route.estimated
    assert len(route.leg_durations_s) == 2
    assert route.leg_durations_s[0] == pytest.approx(by_road.duration_s)
    assert route.geometry[: len(by_road.geometry)] == by_road.geometry
    assert route.geometry[-1] == NICE


def test_without_any_region_everything_is_estimated(settings: Settings) -> None:
    router = fallback_router(settings)
    assert router.route([A, PARIS]).estimated
    assert router.matrix([A], [PARIS]).estimated


def test_create_routing_is_none_before_an_import(tmp_path: Path) -> None:
    assert create_routing(make_settings(tmp_path)) is None


def test_the_backend_starts_without_a_region(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    router = load_routing(make_settings(tmp_path))
    assert router.regions == []
    assert "lastmile region import" in caplog.text


def test_http_routing_url_is_used_when_set(routing_settings: Settings, osrm_url: str) -> None:
    router = create_routing(routing_settings.model_copy(update={"routing_url": osrm_url}))
    assert router is not None
    try:
        assert router.regions[0].engine.name == "osrm-http"
        assert router.route([A, B]).duration_s == pytest.approx(43, rel=0.15)
        with pytest.raises(OffRoadError):
            router.route([A, PARIS])
    finally:
        router.close()
