"""The live map's drivers, stops, routes, depots and zones (placeholder: helper A)."""

from collections.abc import Callable

from app_kit.observable import Observable
from shared.api_client import ApiClient


class FleetMapState(Observable):
    def __init__(self, client: ApiClient, *, on_expired: Callable[[], None]) -> None:
        super().__init__()
        self._client = client
        self._on_expired = on_expired
        self.clear()

    def clear(self) -> None:
        self.count = 0
        self.notify()

    async def load(self) -> None:
        """Fetch what the section shows (called after sign-in and on Refresh)."""
