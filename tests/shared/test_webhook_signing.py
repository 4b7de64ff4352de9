"""shared.webhook_signing: what a receiver checks. Round trips hold for any secret and
body; any change to the body, the secret or the timestamp is caught."""

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.webhook_signing import SignatureError, parse_header, sign, verify

T = 1_796_000_000
secrets_ = st.text(min_size=1, max_size=64)
bodies = st.binary(max_size=2048)
times = st.integers(min_value=0, max_value=4_000_000_000)


def test_the_header_is_stripes_format_over_t_dot_body() -> None:
    body = b'{"type":"ping"}'
    expected = hmac.new(b"whsec_x", f"{T}.".encode() + body, hashlib.sha256).hexdigest()
    assert sign("whsec_x", body, T) == f"t={T},v1={expected}"


@given(secrets_, bodies, times, st.integers(min_value=-300, max_value=300))
def test_a_signature_verifies_within_the_tolerance(
    secret: str, body: bytes, t: int, skew: int
) -> None:
    assert verify(secret, body, sign(secret, body, t), now=t + skew) == t


@given(secrets_, bodies, times, st.binary(min_size=1, max_size=8))
def test_an_altered_body_is_refused(secret: str, body: bytes, t: int, extra: bytes) -> None:
    with pytest.raises(SignatureError, match="altered body"):
        verify(secret, body + extra, sign(secret, body, t), now=t)


@given(secrets_, secrets_, bodies, times)
def test_another_secret_is_refused(secret: str, other: str, body: bytes, t: int) -> None:
    if other == secret:
        return
    with pytest.raises(SignatureError, match="wrong secret"):
        verify(other, body, sign(secret, body, t), now=t)


@given(secrets_, bodies, times, st.integers(min_value=301, max_value=10**6))
def test_an_old_or_future_timestamp_is_refused(secret: str, body: bytes, t: int, skew: int) -> None:
    header = sign(secret, body, t)
    with pytest.raises(SignatureError, match="outside the 300 s tolerance"):
        verify(secret, body, header, now=t + skew)
    with pytest.raises(SignatureError, match="outside"):
        verify(secret, body, header, now=t - skew)


def test_a_replayed_signature_with_a_fresh_timestamp_is_refused() -> None:
    body = b"{}"
    old = sign("s", body, T)
    forged = old.replace(f"t={T}", f"t={T + 3600}")
    with pytest.raises(SignatureError, match="no signature matches"):
        verify("s", body, forged, now=T + 3600)


def test_any_of_several_signatures_may_match_during_a_secret_change() -> None:
    body = b"{}"
    new = sign("new", body, T).split(",")[1]
    header = f"{sign('old', body, T)},{new}"
    assert verify("new", body, header, now=T) == T
    assert verify("old", body, header, now=T) == T


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "header is missing"),
        ("", "header is missing"),
        ("v1=abc", "no timestamp"),
        (f"t={T}", "no v1= signature"),
        (f"t={T},v0=abc", "no v1= signature"),
        ("t=soon,v1=abc", "not a whole number"),
    ],
)
def test_malformed_headers_say_what_is_wrong(header: str | None, message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        verify("s", b"{}", header, now=T)


@given(times, st.lists(st.from_regex(r"[0-9a-f]{64}", fullmatch=True), min_size=1, max_size=3))
def test_parse_header_round_trips(t: int, signatures: list[str]) -> None:
    header = ",".join([f"t={t}", *(f"v1={s}" for s in signatures)])
    assert parse_header(header) == (t, signatures)
