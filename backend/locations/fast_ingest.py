"""A short way through for the busiest request of the platform: a driver's batch of fixes.

Every driver's phone posts ``POST /api/v1/drivers/me/locations`` every few seconds; at fleet
scale that is thousands of requests a second. Through FastAPI's router, exception middleware
and dependency solving a request cost ~2 ms of the event loop here, four times the ingest
itself (profiled with py-spy under ``bench/ingest.py``). This ASGI middleware answers the
request before all that, when the caller is a driver whose sign-in is already in the
principal cache, with the same parsing, pipeline and answer as the documented route
(:func:`backend.locations.app_batch.ingest_body`). Everything else (no or unknown token, a
cache miss, another role) goes through the app unchanged, and the route fills the cache.
"""

import logging
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.auth import tokens
from backend.error_handlers import error_response
from backend.errors import AppError
from backend.locations.app_batch import ingest_body
from backend.locations.fix import DriverRef
from backend.locations.ingest_support import MAX_BODY_BYTES, PayloadTooLargeError, human_size
from backend.state import AppState
from shared.enums import Role

PATH = "/api/v1/drivers/me/locations"
log = logging.getLogger(__name__)
_JSON_HEADERS = [(b"content-type", b"application/json")]


class _DisconnectedError(Exception):
    pass


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class VerifiedTokens:
    """Claims of access tokens whose signature was already checked, by token text: a phone
    sends the same token with every batch, and checking a JWT costs more than storing the
    batch's history. An entry is used only until the token's own expiry; whether the
    user may still act (signed out, role changed) is asked of the principal cache on
    every request. Bounded: when full, it starts again empty."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._max = max_entries
        self._claims: dict[str, tokens.TokenClaims] = {}

    def claims(self, secret: str, token: str) -> tokens.TokenClaims:
        """The token's claims; raises :class:`tokens.InvalidTokenError` like ``decode``."""
        claims = self._claims.get(token)
        if claims is not None and claims.expires_at > time.time():
            return claims
        claims = tokens.decode(secret, token, "access")  # raises when expired or forged
        if len(self._claims) >= self._max:
            self._claims.clear()
        self._claims[token] = claims
        return claims


def _cached_driver(
    state: AppState, verified: VerifiedTokens, authorization: bytes | None
) -> DriverRef | None:
    """The caller as a driver, from a valid token whose principal is cached; else None."""
    if authorization is None:
        return None
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        claims = verified.claims(state.settings.secret_key, token.strip())
    except tokens.InvalidTokenError:
        return None  # the app answers with the reason
    principal = state.principals.get(claims.user_id, claims.version)
    if principal is None or principal.role is not Role.DRIVER or principal.driver_id is None:
        return None
    return DriverRef(org_id=principal.org_id, driver_id=principal.driver_id)


async def _read_body(scope: Scope, receive: Receive) -> bytes:
    declared = _header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(
            f"the body is {declared.decode()} bytes; at most {MAX_BODY_BYTES} "
            f"({human_size(MAX_BODY_BYTES)}) are accepted"
        )
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise _DisconnectedError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLargeError(
                f"the body is over {MAX_BODY_BYTES} bytes ({human_size(MAX_BODY_BYTES)})"
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send_json(send: Send, status: int, body: Any) -> None:
    payload = orjson.dumps(body)
    headers = [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class DriverBatchFastPath:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.verified = VerifiedTokens()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != "POST"
            or _header(scope, b"origin") is not None  # a browser: CORS is the app's job
        ):
            await self.app(scope, receive, send)
            return
        state: AppState | None = getattr(scope["app"].state, "lastmile", None)
        authorization = _header(scope, b"authorization")
        driver = None if state is None else _cached_driver(state, self.verified, authorization)
        if state is None or driver is None:
            await self.app(scope, receive, send)
            return
        received_at = time.time()
        state.locations.metrics.inc("app_batches_fast")
        try:
            raw = await _read_body(scope, receive)
            answer = await ingest_body(state.locations, driver, raw, received_at)
        except _DisconnectedError:
            return
        except AppError as exc:
            response = error_response(exc.status_code, exc.code, exc.message, exc.details)
            await response(scope, receive, send)
            return
        except Exception:  # ahead of the app's error middleware: answer like it does
            log.exception("the drivers' batch fast path failed")
            response = error_response(500, "internal_error", "something went wrong on our side")
            await response(scope, receive, send)
            return
        await _send_json(send, 200, answer)
