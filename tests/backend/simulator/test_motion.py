"""True movement along a real Monaco street: on the road, on time, stopping where planned."""

import itertools
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.routing.legs import Polyline
from backend.simulator.motion import MotionConfig, Trajectory, simulate_motion
from shared.geo import Point, haversine_m
from tests.backend.simulator.streets import BOULEVARD_ALBERT_1ER, path_length_m, street_legs

START = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
STOPS = [8, 15, 25]  # vertices of the boulevard where a parcel is delivered
SERVICE_S = [120.0, 60.0, 180.0]
CONFIG = MotionConfig()


def drive(seed: int, config: MotionConfig = CONFIG) -> Trajectory:
    distances, durations = street_legs(STOPS)
    return simulate_motion(
        BOULEVARD_ALBERT_1ER,
        distances,
        durations,
        SERVICE_S,
        np.random.default_rng(seed),
        START,
        config,
    )


def distance_to_segment_m(p: Point, a: Point, b: Point) -> float:
    """Metres from ``p`` to segment ab, in a local flat frame (fine over a few hundred m)."""
    k = math.cos(math.radians(a.lat))
    ax, ay, bx, by = a.lng * k, a.lat, b.lng * k, b.lat
    px, py = p.lng * k, p.lat
    dx, dy = bx - ax, by - ay
    t = (
        0.0
        if dx == dy == 0
        else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    )
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy)) * 111_195.0


def distance_to_path_m(p: Point, path: list[Point]) -> float:
    return min(distance_to_segment_m(p, a, b) for a, b in itertools.pairwise(path))


@pytest.mark.parametrize("seed", range(5))
def test_every_true_position_lies_on_the_street(seed: int) -> None:
    trajectory = drive(seed)
    for position in trajectory.positions(every_s=1.0):
        assert distance_to_path_m(position.point, BOULEVARD_ALBERT_1ER) < 0.5
        assert position.at.tzinfo is not None
    assert trajectory.position_at(0).point == BOULEVARD_ALBERT_1ER[0]
    assert trajectory.position_at(trajectory.duration_s).point == BOULEVARD_ALBERT_1ER[-1]


@pytest.mark.parametrize("seed", range(20))
def test_total_time_is_the_legs_plus_service_within_the_noise(seed: int) -> None:
    _, durations = street_legs(STOPS)
    trajectory = drive(seed)
    v, noise = CONFIG.speed_variation, CONFIG.service_time_noise
    # Per stop a few seconds go to accelerating from and braking to a standstill.
    ramps_s = (trajectory.brief_stops + len(STOPS)) * 10.0
    low = sum(durations) / (1 + v) + sum(SERVICE_S) * (1 - noise)
    high = sum(durations) / (1 - v) + sum(SERVICE_S) * (1 + noise) + ramps_s
    assert low <= trajectory.duration_s <= high


@pytest.mark.parametrize("seed", range(20))
def test_the_vehicle_dwells_at_each_stop_for_its_service_time(seed: int) -> None:
    trajectory = drive(seed)
    polyline = Polyline.of(BOULEVARD_ALBERT_1ER)
    noise = CONFIG.service_time_noise
    assert len(trajectory.visits) == len(STOPS)
    for visit, vertex, service in zip(trajectory.visits, STOPS, SERVICE_S, strict=True):
        dwell = visit.departed_s - visit.arrived_s
        assert service * (1 - noise) - 1e-9 <= dwell <= service * (1 + noise) + 1e-9
        middle = trajectory.position_at((visit.arrived_s + visit.departed_s) / 2)
        assert middle.speed_mps == 0.0
        # Leg boundaries come from the engine's leg distances: the stop is where it should be.
        assert abs(middle.distance_m - float(polyline.cumulative_m[vertex])) < 0.5


@pytest.mark.parametrize("seed", range(20))
def test_speeds_stay_near_the_expected_speed_and_under_the_cap(seed: int) -> None:
    capped = MotionConfig(max_speed_mps=12.0)
    for config in (CONFIG, capped):
        speeds = drive(seed, config).segment_speeds_mps
        expected = 11.0 / (1 - config.brief_stop_budget)  # fastest a leg's cruise can be set
        assert speeds.min() >= 0.0
        assert speeds.max() <= min(config.max_speed_mps, expected * (1 + config.speed_variation))
        assert speeds.max() <= config.max_speed_mps + 1e-9


def test_speed_varies_smoothly_not_in_jumps() -> None:
    length = path_length_m(BOULEVARD_ALBERT_1ER)  # one leg over the whole boulevard
    trajectory = simulate_motion(
        BOULEVARD_ALBERT_1ER, [length], [length / 11.0], [0.0], np.random.default_rng(3), START
    )
    speeds = trajectory.segment_speeds_mps
    steps = np.diff(speeds[speeds > 0])
    # Acceleration is bounded; braking into a stop is bounded by the deceleration.
    assert np.all(steps <= CONFIG.accel_mps2 * CONFIG.step_s + 1e-9)


def test_headings_follow_the_street_and_hold_while_standing() -> None:
    trajectory = drive(1)
    for position in trajectory.positions(every_s=2.0):
        # Boulevard Albert 1er runs roughly north-north-west, then bends north-east.
        assert position.heading_deg < 60 or position.heading_deg > 300


def test_same_seed_same_trajectory_other_seed_other() -> None:
    a, b, c = drive(7), drive(7), drive(8)
    assert np.array_equal(a.times_s, b.times_s)
    assert np.array_equal(a.distances_m, b.distances_m)
    assert not np.array_equal(a.times_s, c.times_s)


def test_a_zero_length_leg_is_a_dwell_only() -> None:
    point = BOULEVARD_ALBERT_1ER[0]
    trajectory = simulate_motion(
        [point, point], [0.0], [0.0], [60.0], np.random.default_rng(0), START
    )
    assert trajectory.position_at(30).point == point
    assert 48.0 <= trajectory.duration_s <= 72.0


def test_bad_input_is_refused() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="timezone-aware"):
        simulate_motion(BOULEVARD_ALBERT_1ER, [1.0], [1.0], [0.0], rng, datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="one distance"):
        simulate_motion(BOULEVARD_ALBERT_1ER, [1.0], [1.0, 2.0], [0.0], rng, START)
    with pytest.raises(ValueError, match="speed_variation"):
        MotionConfig(speed_variation=1.0)


def test_end_at_is_start_plus_duration() -> None:
    trajectory = drive(0)
    assert trajectory.end_at == START + timedelta(seconds=trajectory.duration_s)


coordinate = st.tuples(
    st.floats(43.70, 43.76, allow_nan=False), st.floats(7.40, 7.45, allow_nan=False)
).map(lambda t: Point(*t))


@given(st.lists(coordinate, min_size=2, max_size=12), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_interpolation_walks_the_polyline_by_distance(
    points: list[Point], f1: float, f2: float
) -> None:
    line = Polyline.of(points)
    assert line.point_at(0.0) == points[0]
    assert haversine_m(line.point_at(line.length_m), points[-1]) < 1e-6
    d1, d2 = sorted((f1 * line.length_m, f2 * line.length_m))
    p1, p2 = line.point_at(d1), line.point_at(d2)
    # Along the path never shorter than the straight line between the two points.
    assert haversine_m(p1, p2) <= (d2 - d1) * 1.001 + 1e-6
    assert distance_to_path_m(p1, points) < 0.05
    assert 0.0 <= line.heading_at(d1) < 360.0


@given(st.lists(coordinate, min_size=2, max_size=8))
def test_interpolated_distance_is_consistent_along_a_segment(points: list[Point]) -> None:
    line = Polyline.of(points)
    for i, start in enumerate(line.cumulative_m[:-1]):
        end = float(line.cumulative_m[i + 1])
        middle = line.point_at((float(start) + end) / 2)
        half = (end - float(start)) / 2
        assert abs(haversine_m(points[i], middle) - half) <= 0.01 * half + 1e-6
