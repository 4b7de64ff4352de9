"""History rows written by the raw SQLite store carry the same time text as SQLAlchemy's."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from backend.locations.history_sqlite import sqlite_time


def reference(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_fast_time_text_is_the_datetime_text(epoch_s: float) -> None:
    assert sqlite_time(epoch_s) == reference(epoch_s)


def test_edges_of_a_second_round_like_datetime() -> None:
    for epoch_s in (1_700_000_000.0, 1_700_000_000.9999996, 1_700_000_000.0000004, 86_399.9999999):
        assert sqlite_time(epoch_s) == reference(epoch_s)
