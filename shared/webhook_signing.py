"""Signing and checking webhook deliveries, the way Stripe does it.

Every delivery carries ``Lastmile-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>``
is HMAC-SHA256 over ``"<t>.<raw body>"`` keyed with the endpoint's secret. The
timestamp is inside the signed text, so a captured delivery cannot be replayed later with
a fresh ``t``; a receiver refuses signatures older (or further in the future) than a
tolerance, five minutes by default. During a secret change a header may carry several
``v1=`` values: any one matching is enough.

Pure: no clock is read unless ``now`` is left out, nothing is sent anywhere.
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Lastmile-Signature"
EVENT_HEADER = "Lastmile-Event"
DELIVERY_HEADER = "Lastmile-Delivery"
DEFAULT_TOLERANCE_S = 300
SCHEME = "v1"


class SignatureError(ValueError):
    """The signature header is missing or malformed, matches no signature of the body, or
    is outside the tolerance; the message says which."""


def _digest(secret: str, body: bytes, t: int) -> str:
    signed = str(t).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, t: int) -> str:
    """The ``Lastmile-Signature`` header value for ``body`` sent at ``t`` (unix seconds)."""
    return f"t={t},{SCHEME}={_digest(secret, body, t)}"


def parse_header(header: str) -> tuple[int, list[str]]:
    """``(t, [v1 signatures])`` from a header value; unknown schemes are ignored."""
    t: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                t = int(value)
            except ValueError:
                raise SignatureError(f"the timestamp {value!r} is not a whole number") from None
        elif key == SCHEME and value:
            signatures.append(value)
    if t is None:
        raise SignatureError("no timestamp (t=...) in the signature header")
    if not signatures:
        raise SignatureError(f"no {SCHEME}= signature in the signature header")
    return t, signatures


def verify(
    secret: str,
    body: bytes,
    header: str | None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> int:
    """Check that ``header`` signs ``body`` (the raw bytes received, before any JSON
    parsing) with ``secret`` within ``tolerance_s`` seconds of ``now`` (unix seconds;
    default: the clock). Returns the signed timestamp; raises :class:`SignatureError`."""
    if not header:
        raise SignatureError(f"the {SIGNATURE_HEADER} header is missing")
    t, signatures = parse_header(header)
    expected = _digest(secret, body, t)
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureError("no signature matches the body: wrong secret or altered body")
    current = time.time() if now is None else now
    if abs(current - t) > tolerance_s:
        raise SignatureError(
            f"the signature's timestamp is {current - t:+.0f} s from now, outside the "
            f"{tolerance_s:g} s tolerance: a replay, or a clock that is off"
        )
    return t
