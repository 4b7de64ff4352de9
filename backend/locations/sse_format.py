"""Server-Sent Events framing of the live messages, and the ``Last-Event-ID`` cursor.

Pure: bytes in, bytes out. Each live message (JSON, as the WebSockets send it) becomes one
event whose ``event:`` is the message's ``type`` and whose ``data:`` is the JSON unchanged
(one line: JSON escapes its newlines). Messages that are stored events get an ``id:``:

- ``order_event`` (the order's timeline, ``event_id`` of ``order_events``),
- ``driver_event`` (off route, zones: ``event_id`` of ``driver_events``).

The id is a :class:`Cursor`: how far the client has read each of those logs. On the
tracking stream (one order's events) it is the order event id alone (``"42"``); on the
fleet stream both, ``"<order event id>.<driver event id>"`` (``"42.7"``): the browser sends
the last one back as ``Last-Event-ID`` when it reconnects, and the server replays what
came after it. Positions and the other messages carry no id: the next ones replace them.
"""

import re
from dataclasses import dataclass, replace

import orjson

ORDER_EVENT = "order_event"
DRIVER_EVENT = "driver_event"
KEEP_ALIVE = b": keep-alive\n\n"
_TYPE = re.compile(rb'\{"type":"([A-Za-z_]+)"')
_CURSOR = re.compile(r"(\d{1,18})(?:\.(\d{1,18}))?")


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last order event and driver event a client has (None: that log is not
    followed, or not known)."""

    order_event: int | None = None
    driver_event: int | None = None

    def after(self, kind: str, event_id: int) -> "Cursor":
        """This cursor once ``event_id`` of ``kind`` (an event type) was sent."""
        if kind == ORDER_EVENT:
            return replace(self, order_event=max(self.order_event or 0, event_id))
        return replace(self, driver_event=max(self.driver_event or 0, event_id))

    def covers(self, kind: str, event_id: int) -> bool:
        """Whether the client already has ``event_id`` of ``kind``."""
        last = self.order_event if kind == ORDER_EVENT else self.driver_event
        return last is not None and event_id <= last

    def text(self) -> str:
        order = str(self.order_event or 0)
        return order if self.driver_event is None else f"{order}.{self.driver_event}"


def parse_cursor(text: str | None) -> Cursor | None:
    """A ``Last-Event-ID`` as this module writes it; None for none or anything else."""
    found = _CURSOR.fullmatch((text or "").strip())
    if found is None:
        return None
    driver = found.group(2)
    return Cursor(int(found.group(1)), int(driver) if driver is not None else None)


def message_type(message: bytes) -> str:
    """The ``type`` of a live message (read from its start, as every publisher writes it
    first; parsed in full otherwise)."""
    found = _TYPE.match(message)
    if found is not None:
        return found.group(1).decode()
    try:
        body = orjson.loads(message)
    except orjson.JSONDecodeError:
        return "message"
    kind = body.get("type") if isinstance(body, dict) else None
    return kind if isinstance(kind, str) and kind.isidentifier() else "message"


def event_id(message: bytes) -> int | None:
    """The stored event's id of an ``order_event`` or ``driver_event`` message."""
    try:
        value = orjson.loads(message).get("event_id")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def frame(kind: str, data: bytes, id_: str | None = None) -> bytes:
    """One event: ``event:``, then ``id:`` if any, then ``data:`` (one line)."""
    lines = [b"event: " + kind.encode()]
    if id_ is not None:
        lines.append(b"id: " + id_.encode())
    lines.extend(b"data: " + line for line in data.splitlines() or [b""])
    return b"\n".join(lines) + b"\n\n"


def retry(milliseconds: int) -> bytes:
    """How long the browser waits before reconnecting after the stream ends."""
    return b"retry: %d\n\n" % milliseconds


class Encoder:
    """Turns one stream's live messages into events, numbering the stored events with the
    stream's :class:`Cursor` and dropping those the client has already: ones at or before
    the ``Last-Event-ID`` it came back with (``resumed_from``), and the broker's copies of
    events just replayed from the database (see :meth:`replaying`)."""

    def __init__(self, resumed_from: Cursor | None = None) -> None:
        self.cursor = Cursor()
        self._resumed_from = resumed_from
        self._horizon: Cursor | None = None  # replayed up to here: remember what is sent
        self._sent: set[tuple[str, int]] = set()

    def replaying(self, messages: list[bytes]) -> list[bytes]:
        """Note ``messages`` (stored events read back, about to be sent first) so that the
        same events arriving live too are sent once; returns them."""
        horizon = Cursor()
        for message in messages:
            number = event_id(message)
            if number is not None:
                horizon = horizon.after(message_type(message), number)
        self._horizon = horizon
        return messages

    def encode(self, message: bytes) -> bytes | None:
        """The event for ``message``, or None if the client has it already."""
        kind = message_type(message)
        number = event_id(message) if kind in (ORDER_EVENT, DRIVER_EVENT) else None
        if number is None:
            return frame(kind, message)
        key = (kind, number)
        resumed = self._resumed_from
        if key in self._sent or (resumed is not None and resumed.covers(kind, number)):
            return None
        if self._horizon is not None and self._horizon.covers(kind, number):
            self._sent.add(key)
        self.cursor = self.cursor.after(kind, number)
        return frame(kind, message, self.cursor.text())
