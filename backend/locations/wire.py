"""The fast reading of our driver app's fixes: one msgspec pass from bytes to fixes.

:class:`shared.schemas.locations.FixIn` (pydantic) is the schema of record: the API docs,
the error messages and every unusual input. Reading a batch with it costs ~10 µs per fix
(JSON to dicts, dicts to models, models to fixes), a sixth of the server's whole budget at
20,000 fixes/s. :class:`FixWire` declares the same fields and limits for msgspec, which
decodes and checks the bytes in one pass. It accepts a subset of what FixIn accepts, with
the same values (tests/backend/locations/test_wire.py checks both on generated input):
anything it refuses (a bad fix, a lax form such as a number as text, an epoch time or a
time without "T", NaN) is read again through FixIn, which names the problem per fix. So a
clean batch takes the fast way and a batch with a bad fix gets the answer it always got.
"""

import re
import sys
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from backend.locations.fix import Fix, Source
from shared.schemas.locations import MAX_BATCH

_FINITE = sys.float_info.max  # limits that infinity (and NaN, compared) never meets

Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0.0, le=_FINITE)]
Heading = Annotated[float, msgspec.Meta(ge=0.0, lt=360.0)]
Finite = Annotated[float, msgspec.Meta(ge=-_FINITE, le=_FINITE)]
Percent = Annotated[float, msgspec.Meta(ge=0.0, le=100.0)]
# RFC 3339 with "T", at most microseconds and a zone: a form pydantic and fromisoformat read
# to the same instant (pydantic truncates a 7th fraction digit, others would round it).
# Checked in _fixes rather than as a msgspec ``pattern``: the same expression costs msgspec
# ~1.8 µs a string and a compiled pattern's own match ~0.6 µs.
_TIME_TEXT = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)


class FixWire(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """FixIn's fields and limits, for msgspec (strict: no numbers as text, no epochs).
    Numbers and text only, so the garbage collector need not track it (``gc=False``)."""

    lat: Latitude
    lng: Longitude
    recorded_at: str  # shaped like _TIME_TEXT, checked in _fixes
    speed_mps: NonNegative | None = None
    heading_deg: Heading | None = None
    accuracy_m: NonNegative | None = None
    altitude_m: Finite | None = None
    battery: Percent | None = None


Batch = Annotated[list[FixWire], msgspec.Meta(max_length=MAX_BATCH)]


class FixesMessage(msgspec.Struct):
    """The driver socket's ``{"type": "fixes", "id": ..., "fixes": [...]}``."""

    type: Literal["fixes"]
    fixes: Batch
    id: Any = None


class BatchBody(msgspec.Struct, forbid_unknown_fields=True):
    """The HTTP batch's ``{"fixes": [...]}`` form."""

    fixes: Batch


_MESSAGE = msgspec.json.Decoder(FixesMessage)
_BODY = msgspec.json.Decoder(BatchBody | Batch)


def _fixes(wire: list[FixWire], received_at: float) -> list[Fix]:
    """Raises ValueError for a time not shaped like ``_TIME_TEXT``, or of that shape but no
    date (February 30th)."""
    app = Source.APP
    parse = datetime.fromisoformat
    shaped = _TIME_TEXT.match
    for w in wire:
        if shaped(w.recorded_at) is None:
            raise ValueError(f"recorded_at {w.recorded_at!r}: not RFC 3339 with T and a zone")
    # tuple.__new__ directly: a named tuple's own __new__ is a Python function (0.8 → 0.4 µs).
    new = tuple.__new__
    return [
        new(
            Fix,
            (
                w.lat,
                w.lng,
                parse(w.recorded_at).timestamp(),
                received_at,
                w.speed_mps,
                w.heading_deg,
                w.accuracy_m,
                w.altitude_m,
                w.battery,
                app,
            ),
        )
        for w in wire
    ]


def message_fixes(raw: bytes | str, received_at: float) -> tuple[Any, list[Fix]] | None:
    """``(id, fixes)`` of a driver-socket ``fixes`` message whose every fix is valid, or
    None: anything else (another type, a bad fix, bad JSON) goes the careful way."""
    try:
        message = _MESSAGE.decode(raw)
        return message.id, _fixes(message.fixes, received_at)
    except (msgspec.DecodeError, ValueError):
        return None


def body_fixes(raw: bytes, received_at: float) -> list[Fix] | None:
    """The fixes of an HTTP batch body (a JSON array or ``{"fixes": [...]}``) whose every
    fix is valid, or None (a single fix object also goes the careful way)."""
    try:
        body = _BODY.decode(raw)
        return _fixes(body.fixes if isinstance(body, BatchBody) else body, received_at)
    except (msgspec.DecodeError, ValueError):
        return None
