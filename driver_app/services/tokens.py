"""Where the driver's session survives the app being closed: the refresh token, kept in the
phone's secure storage (Keychain, Keystore; encrypted local storage on the web).

Only the refresh token is kept: the access token lives a few minutes and a fresh one comes
with the first refresh. Saving and forgetting are ordered: a save that starts after a
``clear`` never brings back a token the driver signed out of.
"""

import asyncio
import logging
from typing import Protocol

log = logging.getLogger(__name__)

KEY = "lastmile.refresh_token"


class TokenStore(Protocol):
    async def load(self) -> str | None: ...

    async def save(self, refresh_token: str) -> None: ...

    async def clear(self) -> None: ...


class KeptToken:
    """Writes the newest token to a :class:`TokenStore` in the background, one write at a
    time and always the newest last (a token is refreshed while the last one is saved)."""

    def __init__(self, store: TokenStore) -> None:
        self.store = store
        self._wanted: str | None = None  # None: forget
        self._dirty = False
        self._writer: asyncio.Task[None] | None = None

    def keep(self, refresh_token: str | None) -> None:
        """Remember ``refresh_token`` (None: forget the stored one)."""
        self._wanted, self._dirty = refresh_token, True
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="driver-token-store")

    async def settled(self) -> None:
        """Wait until what was kept is written."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _write(self) -> None:
        while self._dirty:
            self._dirty = False
            wanted = self._wanted
            try:
                if wanted is None:
                    await self.store.clear()
                else:
                    await self.store.save(wanted)
            except Exception:  # storage refused: the driver signs in again next time
                log.warning("could not write the session token", exc_info=True)
