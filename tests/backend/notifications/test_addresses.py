"""Opt-outs compare addresses as normalised: a number by its digits, an email case-blind."""

from hypothesis import given
from hypothesis import strategies as st

from backend.notifications.prefs import normalise_address


def test_the_same_number_written_two_ways_is_one_address() -> None:
    assert normalise_address(" +377 600-111 (222) ") == normalise_address("+377600111222")
    assert normalise_address("Rita@Example.TEST ") == "rita@example.test"
    assert normalise_address("00377 600") == "00377600"


@given(st.text(max_size=40))
def test_normalising_is_idempotent(address: str) -> None:
    once = normalise_address(address)
    assert normalise_address(once) == once
