"""Id lists padded for IN (...) queries: the same ids, and only a few list lengths."""

from hypothesis import given
from hypothesis import strategies as st

from backend.sql_lists import padded


@given(st.lists(st.integers(min_value=1, max_value=10**9), max_size=600))
def test_the_padded_list_asks_for_exactly_the_same_ids(ids: list[int]) -> None:
    out = padded(ids)
    assert set(out) == set(ids)
    assert out[: len(ids)] == ids
    if ids:
        assert len(out) & (len(out) - 1) == 0  # a power of two
        assert len(ids) <= len(out) < 2 * len(ids)


def test_every_length_up_to_500_becomes_one_of_ten() -> None:
    lengths = {len(padded(list(range(n)))) for n in range(1, 501)}
    assert lengths == {1, 2, 4, 8, 16, 32, 64, 128, 256, 512}


def test_an_empty_list_stays_empty() -> None:
    assert padded([]) == []
