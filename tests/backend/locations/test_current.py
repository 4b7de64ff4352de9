"""The window of recent fix times that makes a resent batch a duplicate."""

from hypothesis import given
from hypothesis import strategies as st

from backend.locations.current import CurrentPositions, RecentTimes, micros

BASE = 1_795_000_000.0
KEEP = 8

# Fix times a quarter second apart (exact in binary, so micros() is exact too), batches in
# any order: mostly increasing in real life, with offline replays of older ones.
times = st.integers(min_value=0, max_value=200).map(lambda k: BASE + k * 0.25)
batches = st.lists(st.lists(times, max_size=12), max_size=30)


@given(batches)
def test_the_last_batch_and_the_newest_values_are_remembered_and_nothing_else(
    sent: list[list[float]],
) -> None:
    window = RecentTimes()
    added: set[float] = set()
    for batch in sent:
        window.add(batch, keep=KEEP)
        added.update(batch)
        # What was just added is there until the next call: a retry of this batch is
        # a duplicate however old its fixes are.
        assert all(micros(t) in window for t in batch)
        # So are the newest KEEP values ever added.
        assert all(micros(t) in window for t in sorted(added)[-KEEP:])
        # Nothing that was never sent, and no more than the bound.
        assert all(micros(t) not in window for t in {BASE + k * 0.25 for k in range(201)} - added)
        assert len(window) <= 2 * KEEP + len(batch)


def test_in_order_fixes_keep_the_window_bounded() -> None:
    window = RecentTimes()
    for k in range(10_000):
        window.add([BASE + k], keep=KEEP)
    assert len(window) <= 2 * KEEP + 1
    assert micros(BASE + 9_999) in window
    assert micros(BASE) not in window


def test_a_replayed_old_batch_is_remembered_next_to_newer_fixes() -> None:
    window = RecentTimes()
    window.add([BASE + 100 + k for k in range(2 * KEEP)], keep=KEEP)
    window.add([BASE + 1, BASE + 2], keep=KEEP)  # an offline replay, older than all
    assert micros(BASE + 1) in window
    assert micros(BASE + 2) in window
    assert micros(BASE + 3) not in window
    assert micros(BASE + 100 + 2 * KEEP - 1) in window


def test_forgetting_a_batch_that_could_not_be_stored_frees_its_times() -> None:
    positions = CurrentPositions()
    positions.remember(7, [BASE + 1, BASE + 2, BASE + 3])
    positions.forget(7, [BASE + 2, BASE + 9])
    recent = positions.recent(7)
    assert micros(BASE + 1) in recent
    assert micros(BASE + 2) not in recent
    assert micros(BASE + 3) in recent
    assert micros(BASE + 1) not in positions.recent(8)  # another driver: nothing yet
