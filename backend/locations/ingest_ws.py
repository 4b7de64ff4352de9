"""Our driver app's WebSocket: ``/api/v1/drivers/me/ws``.

Protocol (JSON text frames):

1. Authenticate with the access token, either as an ``Authorization: Bearer`` header on the
   upgrade request (native apps) or, since browsers cannot set headers on a WebSocket, as the
   first message ``{"type": "auth", "token": "<access token>"}`` within 10 s. Tokens are not
   taken from the query string, which ends up in access logs. The server answers
   ``{"type": "ready", "driver_id": n}``.
2. Send ``{"type": "fixes", "id": <client batch id>, "fixes": [FixIn, ...]}`` (at most 500).
   The answer ``{"type": "ack", "id", "accepted", "rejected": [{index, reason, message}],
   "history_only"}`` comes only after the pipeline has stored the fixes durably: a client may
   drop acknowledged fixes from its queue. Batches are handled in the order sent.
3. An unreadable frame gets ``{"type": "error", "id"?, "message"}``; the socket stays open.
   ``{"type": "ping"}`` gets ``{"type": "pong"}``.
4. From ``ready`` on, whatever is published on the driver's channel
   (:func:`shared.channels.driver_channel`) arrives as ``{"type": "update", "update":
   <message>}``, between answers (never inside one), in the order published, never dropped:

   - ``{"type": "order_changed", "event_id", "order_id", "kind", "from_status",
     "to_status", "at"}``: an event on the timeline of an order that is (or, in that same
     change, was) this driver's: instructions or window changed by the customer or
     dispatch, a status change, a reassignment (:mod:`backend.orders.events`);
   - ``{"type": "route_changed", "route_id", "change": "created" | "updated" | "deleted",
     "service_date"}``: one of the driver's routes was planned, edited (stops, order,
     times, status) or deleted, or taken from them (:mod:`backend.fleet.routes_service`);
   - ``{"type": "at_stop", "stop_id", "order_id", "kind", "arrived_at"}``: geofencing saw
     the driver arrive at a stop (:mod:`backend.geofencing.stop_actions`).

   An update says *what* changed, not the new state: reload it over HTTP (and reload after
   every reconnect, for what was published while the socket was down).

Close codes: 4401 authentication missing, invalid or expired (also when the token expires
while the socket is open: reconnect with a refreshed token); 4403 the user is not a driver
(or has no driver profile); 4008 the client did not read and 10 000 frames piled up
(reconnect and reload). A frame over 1 MiB gets an error message, like any bad frame. If
storing fails, the answer is an error for that ``id`` (not an ack): resend the batch.

No database session is held for the socket's lifetime: one short session checks the token.
One task reads and handles the client's frames in order; one other task writes every
frame (answers and updates), so nothing interleaves.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import orjson
from sqlmodel import select
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.auth import tokens
from backend.auth.service import user_for_token
from backend.db import session_scope
from backend.errors import AppError, UnauthorizedError
from backend.locations.app_batch import to_fixes
from backend.locations.fix import DriverRef, Fix, Rejected
from backend.locations.hub import CLOSE_TOO_SLOW, Kind, Subscriber
from backend.locations.ingest_support import MAX_BODY_BYTES, ingest_indexed
from backend.locations.wire import message_fixes
from backend.models import Driver
from backend.state import AppState
from shared.channels import driver_channel
from shared.enums import Role
from shared.schemas.locations import MAX_BATCH

PATH = "/api/v1/drivers/me/ws"
log = logging.getLogger(__name__)
EXPIRED = "the access token expired: reconnect"

AUTH_TIMEOUT_S = 10.0
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
_CLOSE_TIMEOUT_S = 2.0
_EXPIRED = b""  # handed to the writer after the last answer: close with 4401 (no message is empty)


class _RefusedError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


async def _driver_for(state: AppState, token: str) -> tuple[DriverRef, float]:
    """The driver signed in with ``token``, and when the token expires (epoch seconds)."""
    async with state.socket_opens, session_scope(state.engine) as session:
        try:
            user = await user_for_token(session, state.settings, token, "access")
        except UnauthorizedError as exc:
            raise _RefusedError(CLOSE_UNAUTHORIZED, exc.message) from exc
        if user.role != Role.DRIVER:
            raise _RefusedError(CLOSE_FORBIDDEN, f"only drivers send fixes; you are {user.role}")
        driver_id = (await session.exec(select(Driver.id).where(Driver.user_id == user.id))).first()
    if driver_id is None:
        raise _RefusedError(CLOSE_FORBIDDEN, "your login has no driver profile yet")
    expires_at = tokens.decode(state.settings.secret_key, token, "access").expires_at
    return DriverRef(user.org_id, driver_id), expires_at


class _DisconnectedError(Exception):
    pass


async def _token(scope: Scope, receive: Receive) -> str:
    for key, value in scope["headers"]:
        if key == b"authorization":
            header = bytes(value).decode("latin-1")
            if header.lower().startswith("bearer ") and header[7:].strip():
                return header[7:].strip()
    try:
        text = await asyncio.wait_for(_receive(receive), AUTH_TIMEOUT_S)
    except TimeoutError as exc:
        raise _RefusedError(CLOSE_UNAUTHORIZED, "no auth message within 10 s") from exc
    try:
        message = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _RefusedError(CLOSE_UNAUTHORIZED, "the first message must be JSON auth") from exc
    if not isinstance(message, dict):
        message = {}
    token = message.get("token")
    if message.get("type") != "auth" or not isinstance(token, str) or not token:
        raise _RefusedError(CLOSE_UNAUTHORIZED, 'send {"type": "auth", "token": ...} first')
    return token


def _read_batch(
    message: dict[str, Any], received_at: float
) -> tuple[list[Fix], list[int], list[Rejected]]:
    """The valid fixes of a ``fixes`` message, their positions, and the invalid ones."""
    raw = message.get("fixes")
    if not isinstance(raw, list):
        raise ValueError("fixes: missing or not a list")
    if len(raw) > MAX_BATCH:
        raise ValueError(f"fixes: {len(raw)} fixes; at most {MAX_BATCH} per message")
    indexes, fixes, rejected = to_fixes(raw, received_at)
    return fixes, indexes, rejected


async def _receive(receive: Receive) -> str:
    """The next frame as text (binary frames are decoded as UTF-8 JSON too)."""
    message = await receive()
    if message["type"] != "websocket.receive":
        raise _DisconnectedError
    text = message.get("text")
    if text is not None:
        return str(text)
    return bytes(message.get("bytes") or b"").decode("utf-8", errors="replace")


async def _handle(state: AppState, driver: DriverRef, text: str) -> dict[str, Any]:
    received_at = time.time()
    if len(text) > MAX_BODY_BYTES:
        return {"type": "error", "message": f"frame over {MAX_BODY_BYTES} bytes"}
    fast = message_fixes(text, received_at)
    if fast is not None:  # a fixes message with every fix valid (backend.locations.wire)
        batch_id, fixes = fast
        return await _ingest(state, driver, batch_id, fixes, range(len(fixes)), ())
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            message = json.loads(text)  # NaN and Infinity: rejected per fix, not per frame
        except json.JSONDecodeError as exc:
            return {"type": "error", "message": f"not valid JSON ({exc})"}
    if not isinstance(message, dict):
        return {"type": "error", "message": "expected a JSON object with a 'type'"}
    kind, batch_id = message.get("type"), message.get("id")
    if kind == "ping":
        return {"type": "pong"}
    if kind != "fixes":
        return {"type": "error", "id": batch_id, "message": f"type: unknown {kind!r}"}
    try:
        fixes, indexes, refused = _read_batch(message, received_at)
    except ValueError as exc:
        return {"type": "error", "id": batch_id, "message": str(exc)}
    return await _ingest(state, driver, batch_id, fixes, indexes, refused)


async def _ingest(
    state: AppState,
    driver: DriverRef,
    batch_id: Any,
    fixes: list[Fix],
    indexes: Sequence[int],
    refused: Sequence[Rejected],
) -> dict[str, Any]:
    """Store the readable fixes; the ack (or error) for batch ``batch_id``."""
    try:
        result = await ingest_indexed(state.locations, driver, fixes, indexes, refused)
    except AppError as exc:
        return {"type": "error", "id": batch_id, "message": f"not stored: {exc.message}"}
    except Exception:  # the client keeps the batch and resends it; the socket stays usable
        log.exception("ingest over the driver socket failed")
        return {"type": "error", "id": batch_id, "message": "not stored; send it again"}
    return {
        "type": "ack",
        "id": batch_id,
        "accepted": result.accepted,
        "rejected": [
            {"index": r.index, "reason": str(r.reason), "message": r.message}
            for r in result.rejected
        ],
        "history_only": result.history_only,
    }


class DriverSocket:
    """ASGI middleware serving ``/api/v1/drivers/me/ws`` itself, ahead of the framework.

    The busiest socket of the platform: every driver's phone, a batch every few seconds.
    Served on the raw ASGI messages it costs no router, exception-middleware or WebSocket
    wrapper work per frame, and the token's expiry is one timer per socket rather than a
    timeout per frame (profiled under ``bench/ingest.py``). Every other request goes on to
    the app. See the module docstring for the protocol.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        state: AppState = scope["app"].state.lastmile
        try:
            await _serve(state, scope, receive, send)
        except (_DisconnectedError, OSError):  # a client that left (or never read a close)
            return


async def _close(send: Send, code: int, reason: str) -> None:
    # Bounded: a client that stopped reading (4008) would otherwise hold the close forever.
    close = send({"type": "websocket.close", "code": code, "reason": reason[:120]})
    await asyncio.wait_for(close, _CLOSE_TIMEOUT_S)


async def _serve(state: AppState, scope: Scope, receive: Receive, send: Send) -> None:
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    try:
        driver, expires_at = await _driver_for(state, await _token(scope, receive))
    except _RefusedError as refused:
        await _close(send, refused.code, refused.reason)
        return
    output = Subscriber()  # the updates (filled by the hub) and the answers, in order
    channels = {driver_channel(driver.driver_id): Kind.DRIVER}
    await state.hub.join(output, channels)  # before "ready": nothing published after it is missed
    try:
        await send({"type": "websocket.send", "text": orjson.dumps(_ready(driver)).decode()})
        reader = asyncio.create_task(_answer(state, driver, receive, output, expires_at))
        try:
            expired = await _write(send, output)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    finally:
        state.hub.leave(output, channels)
    if output.overflowed:
        await _close(send, CLOSE_TOO_SLOW, "too slow: reconnect and reload")
    elif expired:
        await _close(send, CLOSE_UNAUTHORIZED, EXPIRED)


async def _write(send: Send, output: Subscriber) -> bool:
    """The socket's only writer: send ``output``'s frames in order until the socket ends.
    True when the token expired (every answer due by then is sent); False when the client
    left or read too slowly. A send the client does not read blocks; the end of the socket
    interrupts it."""
    writer = asyncio.current_task()
    assert writer is not None
    sending = interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        if sending:
            interrupted = True
            writer.cancel()

    output.on_end = interrupt
    try:
        while True:
            frames = await output.take()
            if not frames:
                return False
            for frame in frames:
                if frame == _EXPIRED:
                    return True
                sending = True
                try:
                    await send({"type": "websocket.send", "text": frame.decode()})
                finally:
                    sending = False
    except asyncio.CancelledError:
        if not interrupted:
            raise  # the server is stopping
        writer.uncancel()
        return False


async def _answer(
    state: AppState, driver: DriverRef, receive: Receive, output: Subscriber, expires_at: float
) -> None:
    """Read and handle the client's frames one after another, handing each answer to the
    writer, until the client leaves (``output`` ends) or the token expires (``_EXPIRED``
    follows the last answer)."""
    task = asyncio.current_task()
    assert task is not None
    waiting = expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        if waiting:  # between frames: stop waiting; mid-batch: the batch finishes first
            task.cancel(EXPIRED)

    timer = asyncio.get_running_loop().call_later(max(0.0, expires_at - time.time()), expire)
    try:
        while not expired:
            waiting = True
            try:
                text = await _receive(receive)
            except asyncio.CancelledError:
                if not expired:
                    raise
                task.uncancel()
                break
            finally:
                waiting = False
            output.deliver(Kind.EVENTS, orjson.dumps(await _handle(state, driver, text)))
        output.deliver(Kind.EVENTS, _EXPIRED)
    except _DisconnectedError:
        output.end()
    except BaseException:
        output.end()
        raise
    finally:
        timer.cancel()


def _ready(driver: DriverRef) -> dict[str, Any]:
    return {"type": "ready", "driver_id": driver.driver_id}
