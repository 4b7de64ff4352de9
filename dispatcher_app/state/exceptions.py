"""The exceptions inbox: what needs a dispatcher's eyes, and how many there are."""

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from app_kit.errors import failure_message
from app_kit.observable import Observable
from dispatcher_app.logic.exceptions import changes_inbox
from shared.api_client import ApiClient, ApiError


class ExceptionsState(Observable):
    """The inbox as the server lists it, newest first; ``count`` feeds the nav badge."""

    def __init__(
        self, client: ApiClient, *, on_expired: Callable[[], None], settle_s: float = 1.0
    ) -> None:
        super().__init__()
        self._client = client
        self._on_expired = on_expired
        self._settle_s = settle_s
        self._soon: asyncio.Task[None] | None = None
        self._generation = 0
        self.clear()

    def heard(self, frame: dict[str, Any]) -> None:
        """A frame of the fleet socket: when it may add an item, read the inbox again
        ``settle_s`` later (a burst of events costs one reload)."""
        if not changes_inbox(frame) or (self._soon is not None and not self._soon.done()):
            return
        self._soon = asyncio.get_running_loop().create_task(self._reload_soon())

    async def _reload_soon(self) -> None:
        await asyncio.sleep(self._settle_s)
        await self.load()

    def clear(self) -> None:
        if self._soon is not None:
            self._soon.cancel()
            self._soon = None
        self._generation += 1
        self.items: list[dict[str, Any]] = []
        self.loading = False
        self.error: str | None = None
        self.notify()

    @property
    def count(self) -> int:
        return len(self.items)

    async def load(self) -> None:
        self._generation += 1
        generation = self._generation
        self.loading, self.error = True, None
        self.notify()
        try:
            items = await self._client.exceptions()
        except (ApiError, httpx.TransportError) as exc:
            if generation != self._generation:
                return
            self.loading = False
            self.error = failure_message(exc, self._client.base_url, self._on_expired)
            if self.error is not None:
                self.notify()
            return
        if generation != self._generation:
            return  # signed out, or a newer load, meanwhile
        self.items, self.loading = items, False
        self.notify()
