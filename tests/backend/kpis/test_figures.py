"""The KPI arithmetic, without a database: days in a time zone, rates, hours, tracks."""

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.kpis.breakdowns import DriverDay, RouteTime, Slot, drivers, windows
from backend.kpis.figures import (
    MAX_DAYS,
    Counts,
    RangeError,
    WorkSpan,
    local_days,
    rate,
    totals,
    track_length_m,
)
from shared.geo import Point, haversine_m

PARIS = ZoneInfo("Europe/Paris")


def test_local_days_start_at_local_midnight_across_a_clock_change() -> None:
    days = local_days(date(2026, 3, 28), date(2026, 3, 30), PARIS)
    assert days.days == [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
    assert days.start == datetime(2026, 3, 27, 23, tzinfo=UTC)
    lengths = [b - a for a, b in itertools.pairwise(days.starts)]
    assert lengths == [timedelta(hours=24), timedelta(hours=23), timedelta(hours=24)]
    assert days.index_of(datetime(2026, 3, 28, 22, 59, tzinfo=UTC)) == 0
    assert days.index_of(datetime(2026, 3, 28, 23, 0, tzinfo=UTC)) == 1  # Paris midnight
    assert days.index_of(datetime(2026, 3, 27, 22, 0, tzinfo=UTC)) is None
    assert days.index_of(days.end) is None


def test_a_range_backwards_or_too_long_is_refused_with_the_reason() -> None:
    with pytest.raises(RangeError, match="before date_from"):
        local_days(date(2026, 3, 2), date(2026, 3, 1), UTC)
    with pytest.raises(RangeError, match=f"at most {MAX_DAYS} days"):
        local_days(date(2026, 1, 1), date(2026, 6, 1), UTC)


def test_rates_come_from_the_summed_counts_not_an_average_of_days() -> None:
    monday = Counts(delivered=1, delivered_with_window=1, on_time=1, first_attempts=1)
    monday.first_attempt_successes = 1
    tuesday = Counts(delivered=9, delivered_with_window=9, on_time=0, first_attempts=9)
    tuesday.attempts, tuesday.driver_hours = 9, 3.0
    tuesday.track_views, tuesday.viewed_orders = 6, 3
    assert monday.figures().on_time_rate == 1.0
    assert tuesday.figures().on_time_rate == 0.0
    total = totals([monday, tuesday], viewed_orders=4)
    assert total.on_time_rate == pytest.approx(0.1)  # 1 of 10, not (1 + 0) / 2
    assert total.first_attempt_rate == pytest.approx(0.1)
    assert total.stops_per_driver_hour == pytest.approx(3.0)
    assert total.views_per_order == pytest.approx(6 / 4)
    assert Counts().figures().on_time_rate is None  # nothing delivered: no rate, not 0 %
    assert rate(3, 0) is None


def test_hours_run_from_the_first_to_the_last_thing_known_of_a_drivers_day() -> None:
    nine = datetime(2026, 3, 2, 9, tzinfo=UTC)
    span = WorkSpan()
    span.saw(nine + timedelta(hours=2), None, nine)
    span.saw(nine + timedelta(minutes=90))
    assert span.hours == pytest.approx(2.0)
    alone = WorkSpan()
    alone.saw(nine, nine + timedelta(minutes=4))
    assert alone.hours == 0.0  # too short to measure a rate on


def test_a_track_adds_its_moves_but_not_a_parked_phones_jitter() -> None:
    route = [Point(43.70, 7.26 + 0.004 * k) for k in range(5)]
    expected = sum(haversine_m(a, b) for a, b in itertools.pairwise(route))
    assert track_length_m(route) == pytest.approx(expected)
    jitter = [Point(43.70 + (0.00005 if k % 2 else 0), 7.26) for k in range(200)]
    assert track_length_m(jitter) == 0.0  # 5.5 m back and forth, 200 times
    assert track_length_m([]) == 0.0


def test_windows_are_named_by_their_slot_and_late_by_minutes_on_average() -> None:
    found = windows(
        [
            Slot(600, 720, delivered=1, early=0, late=0, late_s=0.0),
            Slot(480, 600, delivered=4, early=1, late=2, late_s=2 * 1800.0),
        ]
    )
    assert [w.slot for w in found] == ["08:00-10:00", "10:00-12:00"]
    assert (found[0].on_time, found[0].on_time_rate, found[0].late_minutes_avg) == (1, 0.25, 30.0)
    assert found[1].late_minutes_avg is None


def test_a_drivers_days_sum_up_and_route_time_compares_by_ratio() -> None:
    days = [date(2026, 2, 10), date(2026, 2, 11)]
    (dora,) = drivers(
        days,
        {7: "Dora"},
        [DriverDay(7, 0, attempts=3, delivered=2), DriverDay(7, 1, attempts=1, delivered=1)],
        [RouteTime(1, 7, days[0], stops=3, planned_s=7200.0, actual_s=9000.0)],
    )
    assert (dora.stops, dora.failed, dora.days_with_stops, dora.stops_per_day) == (4, 1, 2, 2.0)
    assert dora.duration_ratio == pytest.approx(1.25)
    assert [d.timed_routes for d in dora.days] == [1, 0]
