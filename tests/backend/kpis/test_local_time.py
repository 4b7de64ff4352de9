"""Local days and minutes in SQL (SQLite here) against Python's own conversion, across
both daylight-saving changes of a year; the offsets' changes found to the second."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, literal, select
from sqlalchemy.dialects import postgresql

from backend.kpis.local_time import day_number, epoch_s, local_day, local_minute
from backend.kpis.offsets import Offset, offsets
from backend.models.types import UTCDateTime

PARIS = ZoneInfo("Europe/Paris")
YEAR = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def test_a_years_offsets_change_at_the_clock_changes() -> None:
    assert offsets(*YEAR, PARIS) == [
        Offset(None, 3600),
        Offset(datetime(2026, 3, 29, 1, tzinfo=UTC), 7200),
        Offset(datetime(2026, 10, 25, 1, tzinfo=UTC), 3600),
    ]
    assert offsets(*YEAR, ZoneInfo("UTC")) == [Offset(None, 0)]


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 2, 10, 7, 0, tzinfo=UTC),  # 08:00 sharp in Paris
        datetime(2026, 2, 9, 23, 30, tzinfo=UTC),  # 00:30 on the 10th in Paris
        datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),  # a second before the change
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 03:00, just after it
        datetime(2026, 10, 24, 22, 0, tzinfo=UTC),  # midnight, summer time
        datetime(2026, 12, 31, 22, 59, 59, 999000, tzinfo=UTC),
    ],
)
def test_sqlite_agrees_with_python(at: datetime) -> None:
    zone = offsets(*YEAR, PARIS)
    value = literal(at, UTCDateTime)
    engine = create_engine("sqlite://")
    try:
        with engine.connect() as connection:
            day, minute = connection.execute(
                select(local_day(value, zone), local_minute(value, zone))
            ).one()
    finally:
        engine.dispose()
    local = at.astimezone(PARIS)
    assert day == day_number(local.date())
    assert minute == local.hour * 60 + local.minute


def test_postgresql_reads_the_epoch_and_floors() -> None:
    value = literal(datetime(2026, 2, 10, 7, tzinfo=UTC), UTCDateTime)
    sql = str(
        select(local_day(value, [Offset(None, 3600)]), epoch_s(value)).compile(
            dialect=postgresql.dialect()  # type: ignore[no-untyped-call]
        )
    )
    assert "EXTRACT(EPOCH FROM" in sql
    assert "FLOOR(" in sql
    assert "julianday" not in sql


def test_day_numbers_count_from_1970() -> None:
    first = datetime(1970, 1, 1, tzinfo=UTC)
    assert day_number(first.date()) == 0
    assert day_number((first + timedelta(days=20_000)).date()) == 20_000
