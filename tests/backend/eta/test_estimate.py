"""ETAs along the remaining stops: drive (leg x pace), wait for the window, serve."""

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.eta.estimate import StopPlan, estimate

NOW = 1_780_000_000.0  # epoch seconds, a weekday morning


def plan(
    stop_id: int,
    service_s: float = 120.0,
    *,
    window_start: float | None = None,
    window_end: float | None = None,
    arrived_at: float | None = None,
) -> StopPlan:
    return StopPlan(stop_id, 100 + stop_id, service_s, window_start, window_end, arrived_at)


def test_each_stop_is_reached_after_the_leg_at_the_drivers_pace_and_the_service_before() -> None:
    etas = estimate(NOW, [plan(1, 60.0), plan(2, 90.0)], [100.0, 200.0], pace=1.5)

    assert [e.stop_id for e in etas] == [1, 2]
    assert [e.order_id for e in etas] == [101, 102]
    assert etas[0].eta == NOW + 150  # 100 s free flow at 1.5x
    assert etas[0].departure == NOW + 150 + 60
    assert etas[1].eta == NOW + 210 + 300
    assert etas[1].departure == NOW + 510 + 90


def test_a_driver_early_for_a_window_waits_for_it_to_open_and_the_next_stops_shift() -> None:
    opens = NOW + 1_000
    etas = estimate(NOW, [plan(1, 60.0, window_start=opens), plan(2)], [100.0, 50.0])

    assert etas[0].eta == NOW + 100  # the arrival itself is not delayed by the wait
    assert etas[0].departure == opens + 60
    assert etas[1].eta == opens + 60 + 50


def test_a_window_already_open_costs_no_wait() -> None:
    etas = estimate(NOW, [plan(1, 60.0, window_start=NOW - 3_600)], [100.0])

    assert etas[0].departure == NOW + 160


def test_extra_service_time_learnt_for_the_driver_is_added_to_every_stop() -> None:
    etas = estimate(NOW, [plan(1, 60.0), plan(2, 60.0)], [100.0, 100.0], extra_service_s=30.0)

    assert etas[0].departure == NOW + 100 + 90
    assert etas[1].eta == NOW + 190 + 100
    assert etas[1].departure == NOW + 290 + 90


def test_a_driver_at_the_first_stop_has_no_leg_to_drive_and_leaves_once_served() -> None:
    arrived = NOW - 100
    etas = estimate(NOW, [plan(1, 300.0, arrived_at=arrived), plan(2)], [9_999.0, 60.0])

    assert etas[0].eta == arrived  # the leg given for it is ignored
    assert etas[0].departure == arrived + 300
    assert etas[1].eta == arrived + 300 + 60


def test_a_driver_still_at_a_stop_past_its_service_time_leaves_no_earlier_than_now() -> None:
    etas = estimate(NOW, [plan(1, 300.0, arrived_at=NOW - 900), plan(2)], [0.0, 60.0])

    assert etas[0].departure == NOW
    assert etas[1].eta == NOW + 60


def test_an_arrival_reported_in_the_future_counts_from_now() -> None:
    # A phone whose clock runs ahead: the arrival cannot be later than the computation.
    etas = estimate(NOW, [plan(1, 120.0, arrived_at=NOW + 50)], [0.0])

    assert etas[0].eta == NOW
    assert etas[0].departure == NOW + 120


def test_a_driver_waiting_at_the_stop_for_its_window_leaves_after_it_opens() -> None:
    opens = NOW + 600
    etas = estimate(NOW, [plan(1, 120.0, window_start=opens, arrived_at=NOW - 60)], [0.0])

    assert etas[0].eta == NOW - 60
    assert etas[0].departure == opens + 120


def test_late_by_is_how_far_the_arrival_is_past_the_window_end() -> None:
    ends = NOW + 500
    late, on_time, no_window = estimate(
        NOW,
        [plan(1, 0.0, window_end=ends), plan(2, 0.0, window_end=ends + 600), plan(3, 0.0)],
        [600.0, 0.0, 0.0],
    )

    assert late.late_by_s == 100
    assert on_time.late_by_s == -500
    assert no_window.late_by_s == -math.inf  # never late


def test_a_negative_leg_from_a_routing_glitch_counts_as_none() -> None:
    etas = estimate(NOW, [plan(1, 60.0)], [-30.0])

    assert etas[0].eta == NOW


def test_no_stops_no_etas() -> None:
    assert estimate(NOW, [], []) == []


@pytest.mark.parametrize("legs", [[], [60.0], [60.0, 60.0, 60.0]])
def test_one_leg_per_stop_is_required(legs: list[float]) -> None:
    with pytest.raises(ValueError, match="one leg per stop"):
        estimate(NOW, [plan(1), plan(2)], legs)


@pytest.mark.parametrize("pace", [0.0, -1.0, math.nan])
def test_a_pace_that_is_not_above_zero_is_refused(pace: float) -> None:
    with pytest.raises(ValueError, match="pace"):
        estimate(NOW, [plan(1)], [60.0], pace=pace)


offsets = st.floats(min_value=-7_200, max_value=7_200, allow_nan=False)
stop_plans = st.builds(
    StopPlan,
    stop_id=st.integers(1, 10_000),
    order_id=st.integers(1, 10_000),
    service_s=st.floats(min_value=0, max_value=1_800, allow_nan=False),
    window_start=st.none() | offsets.map(lambda d: NOW + d),
    window_end=st.none() | offsets.map(lambda d: NOW + d),
)


@given(
    stops=st.lists(stop_plans, min_size=1, max_size=12),
    legs=st.lists(st.floats(min_value=0, max_value=3_600, allow_nan=False), min_size=12),
    pace=st.floats(min_value=0.6, max_value=2.5),
    extra_s=st.floats(min_value=0, max_value=600),
    arrived_ago=st.none() | st.floats(min_value=0, max_value=3_600),
)
def test_etas_never_go_back_along_the_route_nor_before_now(
    stops: list[StopPlan],
    legs: list[float],
    pace: float,
    extra_s: float,
    arrived_ago: float | None,
) -> None:
    if arrived_ago is not None:
        first = stops[0]
        stops[0] = StopPlan(
            first.stop_id,
            first.order_id,
            first.service_s,
            first.window_start,
            first.window_end,
            NOW - arrived_ago,
        )
    etas = estimate(NOW, stops, legs[: len(stops)], pace, extra_s)

    assert len(etas) == len(stops)
    for previous, following in itertools.pairwise(etas):
        assert following.eta >= previous.departure >= previous.eta
    assert etas[-1].departure >= etas[-1].eta
    assert all(e.departure >= NOW for e in etas)  # nobody leaves a stop in the past
    assert all(e.eta >= NOW for e in etas[1 if arrived_ago is not None else 0 :])
