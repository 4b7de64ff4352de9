"""Quiet hours: across midnight, in the organisation's time zone, over DST changes (pure)."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.notifications.quiet_hours import (
    QuietHoursError,
    is_quiet,
    parse_hhmm,
    quiet_until,
    zone,
)

PARIS = ZoneInfo("Europe/Paris")
NIGHT = (time(22, 0), time(7, 0))


def test_a_notice_at_23h_local_waits_until_7h_the_next_morning() -> None:
    at = datetime(2026, 12, 5, 22, 30, tzinfo=UTC)  # 23:30 in Paris (UTC+1)
    assert quiet_until(at, *NIGHT, PARIS) == datetime(2026, 12, 6, 6, 0, tzinfo=UTC)


def test_after_midnight_it_waits_until_7h_the_same_morning() -> None:
    at = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # 03:00 in Paris
    assert quiet_until(at, *NIGHT, PARIS) == datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


def test_outside_quiet_hours_nothing_waits() -> None:
    assert quiet_until(datetime(2026, 12, 5, 12, 0, tzinfo=UTC), *NIGHT, PARIS) is None
    assert quiet_until(datetime(2026, 12, 5, 6, 0, tzinfo=UTC), *NIGHT, PARIS) is None  # 07:00


def test_the_end_follows_the_clock_change() -> None:
    # The night of 28-29 March 2026: Paris goes from UTC+1 to UTC+2 at 02:00 local.
    at = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # 23:00 local, winter time
    assert quiet_until(at, *NIGHT, PARIS) == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)  # 07:00 CEST


def test_a_range_within_a_day_and_an_empty_one() -> None:
    assert is_quiet(time(13, 0), time(12, 0), time(14, 0))
    assert not is_quiet(time(14, 0), time(12, 0), time(14, 0))
    assert not is_quiet(time(3, 0), time(5, 0), time(5, 0))


def test_bad_times_and_zones_are_refused_with_a_reason() -> None:
    for bad in ("24:00", "7:00", "07:60", "seven"):
        with pytest.raises(QuietHoursError, match="HH:MM"):
            parse_hhmm(bad)
    with pytest.raises(QuietHoursError, match="time zone"):
        zone("Mars/Olympus_Mons")
    assert parse_hhmm("07:05") == time(7, 5)


times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
zones = st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Pacific/Apia"])
instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)


@given(at=instants, start=times, end=times, name=zones)
def test_a_held_notice_goes_at_the_first_moment_out_of_quiet_hours(
    at: datetime, start: time, end: time, name: str
) -> None:
    tz = ZoneInfo(name)
    until = quiet_until(at, start, end, tz)
    local = at.astimezone(tz).time().replace(tzinfo=None)
    assert (until is not None) == is_quiet(local, start, end)
    if until is None:
        return
    assert at <= until <= at + timedelta(hours=25)  # at most a day (and a DST hour) later
    ended = until.astimezone(tz).time().replace(tzinfo=None)
    # At the end of quiet hours (a wall time skipped by DST lands just after it).
    assert not is_quiet(ended, start, end) or until == at
