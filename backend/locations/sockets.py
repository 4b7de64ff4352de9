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

No database session is held while a socket is open: one short session at connect only.
"""

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.auth import tokens
from backend.auth.service import user_for_token
from backend.errors import AppError
from backend.locations.fanout import positions_frame
from backend.locations.hub import CLOSE_TOO_SLOW, Kind, Subscriber
from backend.state import AppState
from backend.tracking_links import service as tracking
from shared.channels import fleet_positions_channel, order_channel, org_channel
from shared.enums import Role

router = APIRouter(tags=["live"])

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_EXPIRED = 4410
_CLOSE_TIMEOUT_S = 2.0


@router.websocket("/fleet/ws")
async def fleet_ws(websocket: WebSocket, token: str = "") -> None:
    """Live positions and order events of the caller's organisation (admin, dispatcher).

    Browsers cannot set headers on a WebSocket, so the access token travels as the
    ``token`` query parameter: ``/api/v1/fleet/ws?token=<access token>``. It is checked when
    the socket opens; reconnect with a fresh token after a ``4401``.
    """
    state: AppState = websocket.app.state.lastmile
    await websocket.accept()
    try:
        async with state.socket_opens, AsyncSession(state.engine) as session:
            user = await user_for_token(session, state.settings, token, "access")
    except AppError as exc:
        await _close(websocket, CLOSE_UNAUTHORIZED, exc.message)
        return
    expires_at = tokens.decode(state.settings.secret_key, token, "access").expires_at
    if user.role not in (Role.ADMIN, Role.DISPATCHER):
        await _close(websocket, CLOSE_FORBIDDEN, "only admins and dispatchers watch the fleet")
        return
    channels = {
        org_channel(user.org_id): Kind.EVENTS,
        fleet_positions_channel(user.org_id): Kind.FLEET_POSITIONS,
    }
    positions = await state.locations.positions(user.org_id)
    first = [_json({"type": "hello", "org_id": user.org_id})]
    if positions:
        first.append(positions_frame({p.driver.driver_id: p.fix for p in positions}))
    ending = _Ending(expires_at, CLOSE_UNAUTHORIZED, "the access token expired: reconnect")
    await _serve(websocket, state, channels, first, ending)


@router.websocket("/track/{token}/ws")
async def track_ws(websocket: WebSocket, token: str) -> None:
    """A customer's live view of one order: the approximate driver position (only while
    the order is the driver's current or next stop) and its status events. No sign-in;
    the tracking token is the key. The first frame after ``hello`` is ``{"type":
    "snapshot", "view": <the same body as GET /api/v1/track/{token}>}``."""
    state: AppState = websocket.app.state.lastmile
    await websocket.accept()
    try:
        async with state.socket_opens, AsyncSession(state.engine) as session:
            link = await tracking.resolve(session, token)
            view = await tracking.view_for_link(
                session, link, locate=state.fanout.customer_position
            )
    except tracking.LinkExpiredError as exc:
        await _close(websocket, CLOSE_EXPIRED, exc.message)
        return
    except AppError as exc:
        await _close(websocket, CLOSE_NOT_FOUND, exc.message)
        return
    channels = {order_channel(link.order_id): Kind.ORDER}
    first = [
        _json({"type": "hello", "order_id": link.order_id}),
        _json({"type": "snapshot", "view": view.model_dump(mode="json")}),
    ]
    ending = _Ending(link.expires_at.timestamp(), CLOSE_EXPIRED, "this tracking link has expired")
    await _serve(websocket, state, channels, first, ending)


@dataclass(frozen=True, slots=True)
class _Ending:
    """When a socket's credential runs out, and how the socket is closed then."""

    at: float  # epoch seconds
    code: int
    reason: str


async def _serve(
    websocket: WebSocket,
    state: AppState,
    channels: dict[str, Kind],
    first: list[bytes],
    ending: _Ending,
) -> None:
    subscriber = Subscriber()
    await state.hub.join(subscriber, channels)
    tasks: list[asyncio.Task[Any]] = []
    try:
        for frame in first:
            await websocket.send_text(frame.decode())
        writer = asyncio.create_task(_write(websocket, subscriber))
        reader = asyncio.create_task(_read(websocket))
        overflow = asyncio.create_task(subscriber.overflowed.wait())
        tasks = [writer, reader, overflow]
        timeout = max(0.0, ending.at - time.time())
        done, _ = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if overflow in done:
            await _close(websocket, CLOSE_TOO_SLOW, "too slow: reload and reconnect")
        elif not done:
            await _close(websocket, ending.code, ending.reason)
    except Exception:
        pass  # the client went away mid-send; nothing to tell it
    finally:
        state.hub.leave(subscriber, channels)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _write(websocket: WebSocket, subscriber: Subscriber) -> None:
    while True:
        for frame in await subscriber.take():
            await websocket.send_text(frame.decode())


async def _read(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it disconnects."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(websocket.close(code, reason[:120]), _CLOSE_TIMEOUT_S)


def _json(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body)
