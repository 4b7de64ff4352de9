"""Which driver a GPS app's device belongs to, with a small in-memory cache.

GPS apps send one fix per request, so looking the device up in the database every time would
cost a query per fix. Entries (found and not found) live ``ttl_s`` seconds and are forgotten
when this process changes a device; the TTL bounds how long another worker's change takes to
be seen.

It also records when each device was last heard from (``Device.last_seen_at``): in memory
per request, written to the database in one statement every ``seen_flush_s`` seconds (and
before the device list is read), never a write per fix.
"""

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, or_, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_scope
from backend.errors import NotFoundError, UnauthorizedError
from backend.locations.fix import DriverRef
from backend.models.device import Device

log = logging.getLogger(__name__)


def new_salt() -> str:
    return secrets.token_hex(16)  # 32 hex characters, the column's size


def hash_secret(secret: str, salt: str) -> str:
    """SHA-256 of salt + secret, hex. Device secrets are long random tokens typed into an app
    once, not human passwords, so a fast hash is enough and keeps one fix per request cheap."""
    return hashlib.sha256((salt + secret).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class DeviceAuth:
    device_id: int
    identifier: str
    driver: DriverRef
    secret_hash: str | None
    secret_salt: str | None

    def accepts(self, secret: str | None) -> bool:
        """True when the device needs no secret, or ``secret`` is its secret."""
        if self.secret_hash is None:
            return True
        if secret is None or self.secret_salt is None:
            return False
        given = hash_secret(secret, self.secret_salt)
        return hmac.compare_digest(given.encode(), self.secret_hash.encode())


class DeviceDirectory:
    """Resolves a device identifier to its driver; one per process, held in ``AppState``."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        ttl_s: float = 30.0,
        size: int = 10_000,
        seen_flush_s: float = 10.0,
    ) -> None:
        self._engine = engine
        self._ttl_s = ttl_s
        self._size = size
        self._entries: OrderedDict[str, tuple[float, DeviceAuth | None]] = OrderedDict()
        self._seen_flush_s = seen_flush_s
        self._seen: dict[int, float] = {}  # device id -> epoch seconds, not yet written
        self._flusher: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_loop(), name="device-last-seen")

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        with contextlib.suppress(Exception):
            await self.flush_seen()

    def seen(self, device_id: int, at: float) -> None:
        """``device_id`` was heard from at ``at`` (epoch seconds)."""
        if at > self._seen.get(device_id, 0.0):
            self._seen[device_id] = at

    async def flush_seen(self) -> None:
        """Write the pending last-seen times (never moving one backwards)."""
        pending, self._seen = self._seen, {}
        if not pending:
            return
        statement = (
            update(Device)
            .where(col(Device.id) == bindparam("device_id"))
            .where(
                or_(
                    col(Device.last_seen_at).is_(None),
                    col(Device.last_seen_at) < bindparam("seen"),
                )
            )
            .values(last_seen_at=bindparam("seen"))
        )
        rows = [
            {"device_id": device_id, "seen": datetime.fromtimestamp(at, UTC)}
            for device_id, at in pending.items()
        ]
        try:
            async with self._engine.begin() as conn:
                await conn.execute(statement, rows)
        except Exception:
            for device_id, at in pending.items():
                self.seen(device_id, at)
            raise

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self._seen_flush_s)
            try:
                await self.flush_seen()
            except Exception:
                log.exception("writing devices' last-seen times failed; retrying")

    async def lookup(self, identifier: str) -> DeviceAuth | None:
        now = time.monotonic()
        cached = self._entries.get(identifier)
        if cached is not None and cached[0] > now:
            self._entries.move_to_end(identifier)
            return cached[1]
        async with session_scope(self._engine) as session:
            row = (
                await session.exec(select(Device).where(Device.identifier == identifier))
            ).first()
        found = None
        if row is not None:
            assert row.id is not None
            found = DeviceAuth(
                row.id,
                row.identifier,
                DriverRef(row.org_id, row.driver_id),
                row.secret_hash,
                row.secret_salt,
            )
        self._entries[identifier] = (now + self._ttl_s, found)
        self._entries.move_to_end(identifier)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return found

    async def authenticate(self, identifier: str, secret: str | None) -> DeviceAuth:
        """The device, or a 404 (unknown identifier) or 401 (missing or wrong secret)."""
        device = await self.lookup(identifier)
        if device is None:
            raise NotFoundError(
                f"device {identifier!r} is not registered; a dispatcher adds it with "
                "POST /api/v1/drivers/{id}/devices",
                code="unknown_device",
            )
        if not device.accepts(secret):
            raise UnauthorizedError(
                f"device {identifier!r} needs its secret and it is missing or wrong",
                code="invalid_device_secret",
            )
        return device

    def forget(self, identifier: str) -> None:
        self._entries.pop(identifier, None)
