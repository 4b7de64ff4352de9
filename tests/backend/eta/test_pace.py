"""The driver's pace and stop overrun, learnt as the day goes."""

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.eta.pace import MAX_PACE, MIN_PACE, Overrun, Pace

LEG_S = 600.0  # a ten-minute leg, free flow


def drive(pace: Pace, legs: int, ratio: float, leg_s: float = LEG_S) -> Pace:
    for _ in range(legs):
        pace.observe(leg_s * ratio, leg_s)
    return pace


def test_a_new_driver_is_taken_at_the_routing_engines_pace() -> None:
    assert Pace().value == 1.0


def test_one_short_slow_first_leg_does_not_swing_the_pace() -> None:
    pace = drive(Pace(), 1, 2.0, leg_s=60.0)  # a minute's leg that took two

    assert 1.0 < pace.value < 1.1


@pytest.mark.parametrize("ratio", [0.7, 1.3, 1.8])
def test_a_driver_steadily_off_the_engines_times_is_learnt_towards_their_pace(ratio: float) -> None:
    pace = Pace()
    values = [drive(pace, 1, ratio).value for _ in range(12)]  # two hours of legs

    steps = [b - a for a, b in itertools.pairwise([1.0, *values])]
    assert all(s > 0 for s in steps) if ratio > 1 else all(s < 0 for s in steps)
    assert abs(values[-1] - ratio) < 0.25 * abs(ratio - 1.0)  # most of the way there


def test_the_afternoon_traffic_outweighs_the_empty_morning() -> None:
    fading, remembering = Pace(), Pace(half_life_s=math.inf)
    for pace in (fading, remembering):
        drive(pace, 18, 1.0)  # three hours on empty roads
        drive(pace, 6, 1.8)  # then an hour in traffic

    assert fading.value > remembering.value + 0.1
    assert fading.value > 1.4


def test_the_order_of_the_legs_matters_the_latest_counts_most() -> None:
    slow_then_normal = drive(drive(Pace(), 6, 2.0), 6, 1.0)
    normal_then_slow = drive(drive(Pace(), 6, 1.0), 6, 2.0)

    assert slow_then_normal.value < normal_then_slow.value


def test_the_pace_stays_within_its_bounds() -> None:
    # Within what is still believed (up to twice the bounds), but beyond the bounds.
    assert drive(Pace(), 40, 4.0).value == MAX_PACE
    assert drive(Pace(), 40, 0.4).value == MIN_PACE


@pytest.mark.parametrize(
    ("actual_s", "expected_s"),
    [
        (6 * LEG_S, LEG_S),  # a lunch break in the middle of the leg
        (0.2 * LEG_S, LEG_S),  # a leg that cannot have been driven on the road
        (0.0, LEG_S),
        (LEG_S, 0.0),
        (-LEG_S, LEG_S),
    ],
)
def test_a_leg_that_was_surely_not_driven_straight_teaches_nothing(
    actual_s: float, expected_s: float
) -> None:
    pace = drive(Pace(), 3, 1.3)
    before = pace.value

    pace.observe(actual_s, expected_s)

    assert pace.value == before


@given(
    st.lists(
        st.tuples(
            st.floats(min_value=-100, max_value=50_000, allow_nan=False),
            st.floats(min_value=-100, max_value=50_000, allow_nan=False),
        ),
        max_size=40,
    )
)
def test_whatever_the_legs_the_pace_is_a_usable_multiplier(legs: list[tuple[float, float]]) -> None:
    pace = Pace()
    for actual_s, expected_s in legs:
        pace.observe(actual_s, expected_s)

    assert MIN_PACE <= pace.value <= MAX_PACE


def test_a_new_driver_takes_the_planned_service_time() -> None:
    assert Overrun().value == 0.0


def test_stops_that_keep_taking_longer_raise_the_overrun_step_by_step() -> None:
    overrun = Overrun()
    values = []
    for _ in range(10):
        overrun.observe(120.0 + 180.0, 120.0)  # three minutes more than planned, each time
        values.append(overrun.value)

    assert values[0] < 60.0  # one slow doorstep is not yet a habit
    assert all(b > a for a, b in itertools.pairwise(values))
    assert 120.0 < values[-1] <= 180.0


def test_recent_stops_count_more_than_the_mornings() -> None:
    slow_morning, slow_now = Overrun(), Overrun()
    for _ in range(8):
        slow_morning.observe(300.0, 120.0)
    for _ in range(8):
        slow_morning.observe(120.0, 120.0)
        slow_now.observe(120.0, 120.0)
    for _ in range(8):
        slow_now.observe(300.0, 120.0)

    assert slow_now.value > slow_morning.value > 0


def test_a_driver_quicker_than_planned_saves_at_most_two_minutes_a_stop() -> None:
    overrun = Overrun()
    for _ in range(30):
        overrun.observe(10.0, 600.0)

    assert overrun.value == -120.0


def test_one_stop_forgotten_open_all_lunch_counts_as_an_hour_at_most() -> None:
    capped, huge = Overrun(), Overrun()
    capped.observe(120.0 + 3_600.0, 120.0)
    huge.observe(120.0 + 5 * 3_600.0, 120.0)

    assert huge.value == capped.value == pytest.approx(3_600.0 / 4)


def test_a_negative_stop_time_is_ignored() -> None:
    overrun = Overrun()
    overrun.observe(-30.0, 120.0)  # left before arriving: a clock problem

    assert overrun.value == 0.0
