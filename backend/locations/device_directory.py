"""Which driver a GPS app's device belongs to, with a small in-memory cache.

GPS apps send one fix per request, so looking the device up in the database every time would
cost a query per fix. Entries (found and not found) live ``ttl_s`` seconds and are forgotten
when this process changes a device; the TTL bounds how long another worker's change takes to
be seen.
"""

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.db import session_scope
from backend.errors import NotFoundError, UnauthorizedError
from backend.locations.fix import DriverRef
from backend.models.device import Device


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

    def __init__(self, engine: AsyncEngine, *, ttl_s: float = 30.0, size: int = 10_000) -> None:
        self._engine = engine
        self._ttl_s = ttl_s
        self._size = size
        self._entries: OrderedDict[str, tuple[float, DeviceAuth | None]] = OrderedDict()

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
