"""Phone-like fixes: honest accuracy, rare outliers, bounded gaps, repeatable by seed."""

import itertools
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from backend.simulator.gps import GpsConfig, SimulatedFix, gap_windows, sample_fixes
from backend.simulator.motion import Trajectory, simulate_motion
from shared.geo import Point, haversine_m
from tests.backend.simulator.streets import BOULEVARD_ALBERT_1ER, street_legs

START = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
STOPS = [8, 15, 25]


def long_day(seed: int = 0) -> Trajectory:
    """The boulevard with hour-long stops: about three hours of fixes."""
    distances, durations = street_legs(STOPS)
    return simulate_motion(
        BOULEVARD_ALBERT_1ER,
        distances,
        durations,
        [3600.0, 3600.0, 3600.0],
        np.random.default_rng(seed),
        START,
    )


TRAJECTORY = long_day()


def _seen(f: SimulatedFix) -> Point:
    return Point(f.fix.lat, f.fix.lng)


def fixes(seed: int, config: GpsConfig | None = None) -> list[SimulatedFix]:
    return sample_fixes(TRAJECTORY, np.random.default_rng(seed), config)


def test_fixes_come_every_interval_in_utc_and_in_order() -> None:
    config = GpsConfig(interval_s=5.0, gaps_per_hour=0.0)
    got = fixes(1, config)
    assert len(got) == math.floor(TRAJECTORY.duration_s / 5.0) + 1
    times = [f.fix.recorded_at for f in got]
    assert all(t.utcoffset() == timedelta(0) for t in times)
    assert all(b - a == timedelta(seconds=5) for a, b in itertools.pairwise(times))
    assert times[0] == START


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fixes_have_the_accuracy_they_claim(seed: int) -> None:
    config = GpsConfig(outlier_probability=0.0)
    honest = fixes(seed, config)
    errors = np.array([haversine_m(_seen(f), f.true_point) for f in honest])
    accuracy = np.array([f.fix.accuracy_m for f in honest])
    low, high = config.accuracy_range_m
    assert accuracy.min() >= low
    assert accuracy.max() <= high
    assert accuracy.std() > 0.5  # it drifts: open sky and street canyons
    # accuracy_m is the 68 % radius: about two thirds of the fixes fall inside it.
    inside = float(np.mean(errors <= accuracy))
    assert 0.60 <= inside <= 0.76
    # And the per-axis standard deviation is accuracy / 1.51, so error²/σ² averages 2.
    sigma = accuracy / 1.5096
    assert 1.6 <= float(np.mean((errors / sigma) ** 2)) <= 2.4


def test_outliers_are_rare_far_and_flagged() -> None:
    got = fixes(4, GpsConfig(outlier_probability=0.02))
    outliers = [f for f in got if f.outlier]
    assert 0.01 * len(got) <= len(outliers) <= 0.03 * len(got)
    for f in outliers:
        assert haversine_m(f.true_point, _seen(f)) >= 59.0
    for f in got:
        if not f.outlier:
            assert haversine_m(f.true_point, _seen(f)) < 5 * f.fix.accuracy_m


def test_gaps_exist_and_are_bounded() -> None:
    config = GpsConfig(gaps_per_hour=4.0, gap_s=(20.0, 120.0))
    got = fixes(5, config)
    deltas = [
        (b.fix.recorded_at - a.fix.recorded_at).total_seconds() for a, b in itertools.pairwise(got)
    ]
    gaps = [d for d in deltas if d > config.interval_s]
    assert len(gaps) >= 3
    assert max(gaps) <= config.gap_s[1] + config.interval_s
    windows = gap_windows(10_000.0, np.random.default_rng(0), config)
    for (_, end), (start, _) in itertools.pairwise(windows):
        assert start - end >= config.min_gap_spacing_s


def test_speed_heading_battery_and_altitude_look_like_a_phone() -> None:
    got = fixes(6)
    for f in got:
        truth_speed = TRAJECTORY.speed_at((f.fix.recorded_at - START).total_seconds())
        if truth_speed == 0.0:
            assert f.fix.speed_mps == 0.0
            assert f.fix.heading_deg is None
        else:
            assert abs(f.fix.speed_mps - truth_speed) < 2.0
        assert f.fix.heading_deg is None or 0.0 <= f.fix.heading_deg < 360.0
        assert 0.0 <= f.fix.battery <= 100.0
        assert 0.0 < f.fix.altitude_m < 100.0
    battery = [f.fix.battery for f in got]
    assert all(b >= a for a, b in zip(battery[1:], battery, strict=False))
    hours = TRAJECTORY.duration_s / 3600.0
    assert 4.0 * hours <= battery[0] - battery[-1] <= 13.0 * hours


def test_same_seed_same_fixes_other_seed_other() -> None:
    assert [f.fix for f in fixes(9)] == [f.fix for f in fixes(9)]
    assert [f.fix for f in fixes(9)] != [f.fix for f in fixes(10)]


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError, match="interval_s"):
        GpsConfig(interval_s=0)
    with pytest.raises(ValueError, match="accuracy_range_m"):
        GpsConfig(accuracy_range_m=(10.0, 3.0))
