"""``Idempotency-Key``: a client that sends a creating request again (a timeout, a retry
after a crash) with the same key gets the first answer back instead of a second order.

The key is remembered with the answer in the same transaction as what the request
created, so there is an answer to replay exactly when the orders exist. A key is the
organisation's for 24 hours; sent again with a different body it is refused (422), and a
twin request racing the first one gets a 409 (its transaction is rolled back: nothing is
created twice). Raises AppErrors; never commits.
"""

import hashlib
import string
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.errors import ConflictError, UnprocessableError
from backend.models import IdempotencyKey
from backend.models.types import utcnow

HEADER = "Idempotency-Key"
KEEP = timedelta(hours=24)
MAX_LENGTH = 255
_ALLOWED = frozenset(string.ascii_letters + string.digits + string.punctuation)


@dataclass(frozen=True, slots=True)
class Replay:
    """The answer the first request with the key got."""

    status_code: int
    body: Any


def checked_key(key: str) -> str:
    """The key as sent: 1 to 255 printable ASCII characters, no spaces."""
    if not 0 < len(key) <= MAX_LENGTH or not set(key) <= _ALLOWED:
        raise UnprocessableError(
            f"{HEADER}: 1 to {MAX_LENGTH} printable ASCII characters without spaces, e.g. a UUID",
            code="bad_idempotency_key",
        )
    return key


def digest(body: Any) -> str:
    """A fingerprint of the request's (parsed) body: the same content, however spaced or
    ordered, has the same fingerprint."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def replay(
    session: AsyncSession, org_id: int, key: str, request: str, fingerprint: str
) -> Replay | None:
    """The stored answer for ``key``, or None when the request is new (a key older than
    :data:`KEEP` is forgotten)."""
    await session.exec(
        delete(IdempotencyKey).where(
            col(IdempotencyKey.org_id) == org_id,
            col(IdempotencyKey.key) == key,
            col(IdempotencyKey.created_at) < utcnow() - KEEP,
        )
    )
    stored = (
        await session.exec(
            select(IdempotencyKey).where(IdempotencyKey.org_id == org_id, IdempotencyKey.key == key)
        )
    ).first()
    if stored is None:
        return None
    if stored.request != request or stored.request_hash != fingerprint:
        raise UnprocessableError(
            f"{HEADER} {key!r} was used for a different request ({stored.request}) or "
            "body in the last 24 hours: use a new key for a new request",
            code="idempotency_key_reused",
        )
    return Replay(stored.status_code, stored.response)


async def remember(
    session: AsyncSession,
    org_id: int,
    key: str,
    request: str,
    fingerprint: str,
    status_code: int,
    body: Any,
) -> None:
    """Store the answer with what the request created (same transaction)."""
    session.add(
        IdempotencyKey(
            org_id=org_id,
            key=key,
            request=request,
            request_hash=fingerprint,
            status_code=status_code,
            response=body,
        )
    )
    try:
        await session.flush()
    except IntegrityError:
        raise ConflictError(
            f"another request with {HEADER} {key!r} finished first; send this one again to "
            "get its answer",
            code="idempotency_key_in_use",
        ) from None
