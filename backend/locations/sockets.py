"""Live WebSockets: the dispatchers' fleet map and a customer's tracking page.

Frames are JSON text. Both sockets first send ``{"type": "hello", ...}`` once subscribed
(anything published after it reaches the socket), then:

- ``{"type": "positions", "positions": [{driver_id, lat, lng, recorded_at, speed_mps,
  heading_deg, accuracy_m, battery}, ...]}`` (fleet only): the latest position of every
  driver that moved, coalesced every ≤ 100 ms; a slow socket gets fewer, fuller frames;
- ``{"type": "order_event", event_id, order_id, kind, from_status, to_status, at}``: never
  dropped;
- ``{"type": "driver_event", event_id, driver_id, kind, at, lat, lng, details}`` and
  ``{"type": "zone_dwell", ...}`` (fleet only): a driver entered or left a zone, or stayed
  in one (:mod:`backend.geofencing.zone_events`); never dropped;
- ``{"type": "driver_position", order_id, position: {lat, lng, recorded_at, approx_m} |
  null}`` (customer only): approximate, and only while the order is the driver's current or
  next stop; ``null`` when that ends.

Close codes (application range): ``4401`` fleet socket without a valid access token (also
sent when the token expires while the socket is open: reconnect with a refreshed one),
``4403`` signed in but not admin/dispatcher, ``4404`` unknown or revoked tracking token,
``4410`` tracking link expired (also sent when it expires while open), ``4008`` the client
read too slowly and would have lost events: reload over HTTP and reconnect.

No database session is held while a socket is open: one short session at connect only. What
each socket carries is built by :mod:`backend.locations.live_feed`, shared with the
Server-Sent Events streams (:mod:`backend.locations.sse`).

Served on raw ASGI messages by :class:`LiveSockets`, ahead of the framework (like the driver
socket, :mod:`backend.locations.ingest_ws`): thousands of customers hold these sockets, and
through the framework each one kept ~220 objects alive (39 coroutines, 6 tasks) that the
garbage collector walks again and again; here it is about half of that (~116, most of them
uvicorn's and websockets' own) — one task writes, one reads (to hear the client leave), a
timer ends the credential's time, and the in-process broker calls the hub back.
"""

import asyncio
import contextlib
import re
from typing import Any
from urllib.parse import parse_qs

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.auth import tokens
from backend.auth.service import user_for_token
from backend.errors import AppError, TooManyRequestsError
from backend.locations import live_feed
from backend.locations.live_feed import CLOSE_EXPIRED, CLOSE_UNAUTHORIZED
from backend.state import AppState
from backend.tracking_links import service as tracking
from shared.enums import Role

FLEET_PATH = "/api/v1/fleet/ws"
_TRACK_PATH = re.compile(r"/api/v1/track/([^/]+)/ws")

CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY_GUESSES = 4429
_CLOSE_TIMEOUT_S = 2.0
__all__ = ["CLOSE_EXPIRED", "CLOSE_UNAUTHORIZED", "FLEET_PATH", "LiveSockets", "SocketTransport"]


class LiveSockets:
    """ASGI layer answering the fleet and tracking sockets itself; everything else goes on
    to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            path = scope["path"]
            if path == FLEET_PATH:
                await _guarded(fleet_ws(scope, receive, send))
                return
            track = _TRACK_PATH.fullmatch(path)
            if track is not None:
                await _guarded(track_ws(scope, receive, send, track.group(1)))
                return
        await self.app(scope, receive, send)


async def _guarded(serving: Any) -> None:
    with contextlib.suppress(OSError):  # sending to a client that left
        await serving


async def _accepted(receive: Receive, send: Send) -> bool:
    if (await receive())["type"] != "websocket.connect":
        return False
    await send({"type": "websocket.accept"})
    return True


async def fleet_ws(scope: Scope, receive: Receive, send: Send) -> None:
    """Live positions and order events of the caller's organisation (admin, dispatcher).

    Browsers cannot set headers on a WebSocket, so the access token travels as the
    ``token`` query parameter: ``/api/v1/fleet/ws?token=<access token>``. It is checked when
    the socket opens; reconnect with a fresh token after a ``4401``.
    """
    state: AppState = scope["app"].state.lastmile
    if not await _accepted(receive, send):
        return
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
    token = (query.get("token") or [""])[0]
    try:
        async with state.socket_opens, AsyncSession(state.engine) as session:
            user = await user_for_token(session, state.settings, token, "access")
    except AppError as exc:
        await _close(send, CLOSE_UNAUTHORIZED, exc.message)
        return
    expires_at = tokens.decode(state.settings.secret_key, token, "access").expires_at
    if user.role not in (Role.ADMIN, Role.DISPATCHER):
        await _close(send, CLOSE_FORBIDDEN, "only admins and dispatchers watch the fleet")
        return
    feed = await live_feed.fleet_feed(state, user.org_id, expires_at)
    await live_feed.serve(state, SocketTransport(receive, send), feed)


async def track_ws(scope: Scope, receive: Receive, send: Send, token: str) -> None:
    """A customer's live view of one order: the approximate driver position (only while
    the order is the driver's current or next stop) and its status events. No sign-in;
    the tracking token is the key. The first frame after ``hello`` is ``{"type":
    "snapshot", "view": <the same body as GET /api/v1/track/{token}>}``."""
    state: AppState = scope["app"].state.lastmile
    if not await _accepted(receive, send):
        return
    client = scope.get("client")
    try:
        feed, _ = await live_feed.track_feed(state, token, client[0] if client else None)
    except tracking.LinkExpiredError as exc:
        await _close(send, CLOSE_EXPIRED, exc.message)
        return
    except TooManyRequestsError as exc:
        await _close(send, CLOSE_TOO_MANY_GUESSES, exc.message)
        return
    except AppError as exc:
        await _close(send, CLOSE_NOT_FOUND, exc.message)
        return
    await live_feed.serve(state, SocketTransport(receive, send), feed)


class SocketTransport:
    """The WebSocket transport: one text frame per message; no keep-alive (the protocol
    has its own pings)."""

    keep_alive_s: float | None = None

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive, self._send = receive, send

    async def send(self, frames: list[bytes]) -> None:
        for frame in frames:
            await self._send({"type": "websocket.send", "text": frame.decode()})

    async def gone(self) -> None:
        """Read (and ignore) what the client sends, until it disconnects."""
        while (await self._receive())["type"] != "websocket.disconnect":
            pass

    async def close(self, code: int, reason: str) -> None:
        await _close(self._send, code, reason)


async def _close(send: Send, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        close = send({"type": "websocket.close", "code": code, "reason": reason[:120]})
        await asyncio.wait_for(close, _CLOSE_TIMEOUT_S)
