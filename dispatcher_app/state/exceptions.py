"""The exceptions inbox: what needs a dispatcher's eyes, and how many there are."""

from collections.abc import Callable
from typing import Any

import httpx

from app_kit.errors import failure_message
from app_kit.observable import Observable
from shared.api_client import ApiClient, ApiError


class ExceptionsState(Observable):
    """The inbox as the server lists it, newest first; ``count`` feeds the nav badge."""

    def __init__(self, client: ApiClient, *, on_expired: Callable[[], None]) -> None:
        super().__init__()
        self._client = client
        self._on_expired = on_expired
        self._generation = 0
        self.clear()

    def clear(self) -> None:
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
