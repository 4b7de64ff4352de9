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

Close codes: 4401 authentication missing, invalid or expired (also when the token expires
while the socket is open: reconnect with a refreshed token); 4403 the user is not a driver
(or has no driver profile). A frame over 1 MiB gets an error message, like any bad frame. If
storing fails, the answer is an error for that ``id`` (not an ack): resend the batch.

No database session is held for the socket's lifetime: one short session checks the token.
"""

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlmodel import select

from backend.auth import tokens
from backend.auth.service import user_for_token
from backend.db import session_scope
from backend.errors import AppError, UnauthorizedError
from backend.locations.app_batch import to_fixes
from backend.locations.fix import DriverRef, Fix, Rejected
from backend.locations.ingest_support import MAX_BODY_BYTES, ingest_indexed
from backend.locations.wire import message_fixes
from backend.models import Driver
from backend.state import AppState
from shared.enums import Role
from shared.schemas.locations import MAX_BATCH

router = APIRouter(tags=["locations"])
log = logging.getLogger(__name__)

AUTH_TIMEOUT_S = 10.0
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403


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


async def _token(websocket: WebSocket) -> str:
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer ") and header[7:].strip():
        return header[7:].strip()
    try:
        text = await asyncio.wait_for(_receive(websocket), AUTH_TIMEOUT_S)
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


async def _receive(websocket: WebSocket) -> str:
    """The next frame as text (binary frames are decoded as UTF-8 JSON too)."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    if message.get("text") is not None:
        text: str = message["text"]
        return text
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


@router.websocket("/drivers/me/ws")
async def driver_socket(websocket: WebSocket) -> None:
    """The driver app's live channel: authenticated batches of fixes, acknowledged once
    durable. See the module docstring for the protocol and close codes."""
    state: AppState = websocket.app.state.lastmile
    await websocket.accept()
    try:
        driver, expires_at = await _driver_for(state, await _token(websocket))
    except _RefusedError as refused:
        await websocket.close(refused.code, refused.reason[:120])
        return
    except WebSocketDisconnect:
        return
    await websocket.send_json({"type": "ready", "driver_id": driver.driver_id})
    try:
        while True:
            try:
                text = await asyncio.wait_for(_receive(websocket), expires_at - time.time())
            except TimeoutError:
                await websocket.close(CLOSE_UNAUTHORIZED, "the access token expired: reconnect")
                return
            answer = await _handle(state, driver, text)
            await websocket.send_text(orjson.dumps(answer).decode())
    except WebSocketDisconnect:
        return
