"""MQTT payloads to pipeline fixes (pure), reusing the HTTP parsers.

Our app's topic carries the HTTP batch body (a JSON array of fixes, ``{"fixes": [...]}`` or
one fix, at most 500); OwnTracks' the JSON of its HTTP mode (only ``_type: location``
carries a fix; other types are read and carry none). A payload that cannot be read as a
whole raises :class:`MalformedPayloadError`; single unreadable fixes of a batch are returned as
rejections, as the HTTP endpoint does.
"""

import json
from dataclasses import dataclass, field

from backend.errors import AppError
from backend.locations.app_batch import parse_items, to_fixes
from backend.locations.fix import Fix, Rejected
from backend.locations.gps_protocols import ProtocolError, parse_owntracks
from backend.locations.ingest_support import MAX_BODY_BYTES
from backend.locations.wire import body_fixes


class MalformedPayloadError(ValueError):
    """The payload cannot be read; the message says why."""


@dataclass(frozen=True, slots=True)
class Payload:
    fixes: list[Fix]
    indexes: list[int] = field(default_factory=list)  # each fix's index in the batch sent
    rejected: list[Rejected] = field(default_factory=list)


def _check_size(raw: bytes) -> None:
    if len(raw) > MAX_BODY_BYTES:
        raise MalformedPayloadError(f"{len(raw)} bytes; at most {MAX_BODY_BYTES}")


def lastmile_payload(raw: bytes, received_at: float) -> Payload:
    """Our app's batch, as the HTTP endpoint reads it."""
    _check_size(raw)
    fast = body_fixes(raw, received_at)
    if fast is not None:  # every fix valid, read in one pass (as the HTTP endpoint does)
        return Payload(fast, list(range(len(fast))))
    try:
        items = parse_items(raw)
    except AppError as exc:
        raise MalformedPayloadError(exc.message) from None
    indexes, fixes, rejected = to_fixes(items, received_at)
    if not fixes and rejected:
        raise MalformedPayloadError(f"no readable fix: {rejected[0].message}")
    return Payload(fixes, indexes, rejected)


def owntracks_payload(raw: bytes, received_at: float) -> Payload:
    """One OwnTracks message (its HTTP mode's JSON)."""
    _check_size(raw)
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedPayloadError(f"not valid JSON ({exc})") from None
    try:
        message = parse_owntracks(body, received_at)
    except ProtocolError as exc:
        raise MalformedPayloadError(str(exc)) from None
    fixes = [] if message.fix is None else [message.fix]
    return Payload(fixes, list(range(len(fixes))))
