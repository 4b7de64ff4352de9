"""Server-Sent Events: the live sockets' messages as ``text/event-stream``, for pages and
clients behind proxies that block WebSockets.

- ``GET /api/v1/track/{token}/events``: what ``/api/v1/track/{token}/ws`` sends (no
  sign-in; the token in the path, checked, expired and rate limited as the socket's);
- ``GET /api/v1/fleet/events``: what ``/api/v1/fleet/ws`` sends, for an admin or a
  dispatcher signed in with ``Authorization: Bearer <access token>`` or, as a browser's
  ``EventSource`` cannot set headers, ``?token=<access token>`` as the socket takes it
  (one or the other: both at once is a 400; the query is masked in the logs).

Both are a second transport over the same feed (:mod:`backend.locations.live_feed`), through
the same broker: they work across workers as the sockets do. Framing and ids:
:mod:`backend.locations.sse_format`: ``event:`` is the message's ``type``, ``data:`` its
JSON; stored events (``order_event``, ``driver_event``) carry an ``id:``, and a client that
comes back with ``Last-Event-ID`` first gets the events it missed, read from the database,
each exactly once, then the live ones. A comment every 15 s keeps proxies from timing out.

Where the socket would close with a code (token or link expired, client too slow), the
stream sends a last ``event: closed`` with ``{"type": "closed", "code", "reason"}`` and
ends: after ``4410`` the link is gone; after ``4401`` reconnect with a fresh token; after
``4008`` reconnect (with ``Last-Event-ID``: nothing is lost). More than 5,000 missed events
are not replayed: ``event: reload`` says to read the current state over HTTP instead.
"""

import contextlib
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from backend.auth import tokens
from backend.deps import StateDep, StreamStaffUser, StreamToken
from backend.locations import event_replay, live_feed
from backend.locations.sse_format import KEEP_ALIVE, Cursor, Encoder, parse_cursor, retry
from backend.responses import ERRORS
from backend.state import AppState
from backend.tracking_links.router import caller

router = APIRouter()

KEEP_ALIVE_S = 15.0
RETRY_MS = 3_000
_STREAM: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "The event stream"}
}
_RELOAD = orjson.dumps(
    {"type": "reload", "reason": "too many events were missed: read the current state again"}
)

LastEventId = Annotated[str | None, Header(alias="Last-Event-ID")]


@router.get(
    "/track/{token}/events",
    tags=["tracking"],
    response_class=Response,
    responses={
        **_STREAM,
        **ERRORS(404),
        410: {"description": "The link has expired"},
        429: {"description": "Too many unknown tracking links tried from this address"},
    },
)
async def track_events(
    token: str, request: Request, state: StateDep, last_event_id: LastEventId = None
) -> Response:
    """The tracking socket's messages as Server-Sent Events: ``hello``, ``snapshot``
    (the body of ``GET /track/{token}``), then ``order_event`` (with an ``id:``),
    ``driver_position``, ``eta``, ``order_deleted``. Send ``Last-Event-ID`` (browsers
    do) to get the order's events missed since."""
    feed, link = await live_feed.track_feed(state, token, caller(request))
    resumed = parse_cursor(last_event_id)
    encoder = Encoder(resumed)

    async def catch_up() -> list[bytes]:
        if resumed is None or resumed.order_event is None:
            return []
        after = resumed.order_event
        try:
            missed = await event_replay.order_events_after(
                state.engine, after, order_id=link.order_id
            )
        except event_replay.TooFarBehindError:
            return [_RELOAD]
        encoder.cursor = Cursor(after)
        return encoder.replaying(missed)

    return EventStream(state, feed, encoder, catch_up)


@router.get("/fleet/events", tags=["locations"], response_class=Response,
            responses={**_STREAM, **ERRORS(400, 401, 403)})  # fmt: skip
async def fleet_events(
    staff: StreamStaffUser, token: StreamToken, state: StateDep, last_event_id: LastEventId = None
) -> Response:
    """The fleet socket's messages as Server-Sent Events (admins, dispatchers): ``hello``,
    ``positions``, ``order_event`` and ``driver_event`` (with an ``id:``), ``zone_dwell``,
    ``eta``, ``exception_resolved`` ... Send ``Last-Event-ID`` to get the organisation's
    order and driver events missed since. The access token comes as ``Authorization:
    Bearer`` or, from a browser's ``EventSource``, as ``?token=`` (not both: 400). Ends
    (``closed``, ``4401``) when the access token expires: reconnect with a fresh one."""
    expires_at = tokens.decode(state.settings.secret_key, token, "access").expires_at
    feed = await live_feed.fleet_feed(state, staff.org_id, expires_at)
    resumed = parse_cursor(last_event_id)
    encoder = Encoder(resumed)

    async def catch_up() -> list[bytes]:
        now = await event_replay.latest(state.engine, staff.org_id)
        if resumed is None:
            encoder.cursor = now
            return []
        order_after = now.order_event if resumed.order_event is None else resumed.order_event
        driver_after = now.driver_event if resumed.driver_event is None else resumed.driver_event
        order_after, driver_after = order_after or 0, driver_after or 0
        try:
            missed = [
                *await event_replay.order_events_after(
                    state.engine, order_after, org_id=staff.org_id
                ),
                *await event_replay.driver_events_after(state.engine, driver_after, staff.org_id),
            ]
        except event_replay.TooFarBehindError:
            encoder.cursor = now
            return [_RELOAD]
        encoder.cursor = Cursor(order_after, driver_after)
        return encoder.replaying(missed)

    return EventStream(state, feed, encoder, catch_up)


class EventStream(Response):
    """A feed served as ``text/event-stream`` until the client leaves (see the module)."""

    media_type = "text/event-stream"

    def __init__(
        self,
        state: AppState,
        feed: live_feed.Feed,
        encoder: Encoder,
        catch_up: Callable[[], Awaitable[list[bytes]]],
    ) -> None:
        self.status_code = 200
        self.background = None
        self.init_headers({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self._state, self._feed, self._encoder = state, feed, encoder
        self._catch_up = catch_up

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
        await send(start)
        stream = StreamTransport(receive, send, self._encoder)
        with contextlib.suppress(OSError):  # the client left mid-send
            await live_feed.serve(self._state, stream, self._feed, self._catch_up)
            await stream.end()


class StreamTransport:
    """The Server-Sent Events transport of one response."""

    keep_alive_s: float | None = KEEP_ALIVE_S

    def __init__(self, receive: Receive, send: Send, encoder: Encoder) -> None:
        self._receive, self._send, self._encoder = receive, send, encoder
        self._started = self._ended = False

    async def send(self, frames: list[bytes]) -> None:
        events = [e for e in map(self._encoder.encode, frames) if e is not None]
        if not self._started:
            self._started = True
            events.insert(0, retry(RETRY_MS))
        await self._body(b"".join(events) if events else KEEP_ALIVE)

    async def gone(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass

    async def close(self, code: int, reason: str) -> None:
        body = orjson.dumps({"type": "closed", "code": code, "reason": reason})
        with contextlib.suppress(OSError):
            await self._body(self._encoder.encode(body) or b"")
        await self.end()

    async def end(self) -> None:
        if not self._ended:
            self._ended = True
            with contextlib.suppress(OSError):
                await self._send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _body(self, chunk: bytes) -> None:
        await self._send({"type": "http.response.body", "body": chunk, "more_body": True})
