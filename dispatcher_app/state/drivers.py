"""The organisation's drivers and their status, for the drivers panel and the grid."""

from collections.abc import Callable

import httpx

from app_kit.errors import failure_message
from app_kit.observable import Observable
from shared.api_client import ApiClient, ApiError
from shared.schemas.fleet import DriverOut

# The server caps a page at 500 rows.
_PAGE = 500


class DriversState(Observable):
    """Every driver of the organisation, by name."""

    def __init__(self, client: ApiClient, *, on_expired: Callable[[], None]) -> None:
        super().__init__()
        self._client = client
        self._on_expired = on_expired
        self._generation = 0
        self.clear()

    def clear(self) -> None:
        self._generation += 1
        self.drivers: list[DriverOut] = []
        self.loading = False
        self.error: str | None = None
        self.notify()

    @property
    def names(self) -> dict[int, str]:
        return {driver.id: driver.name for driver in self.drivers}

    async def load(self) -> None:
        self._generation += 1
        generation = self._generation
        self.loading, self.error = True, None
        self.notify()
        drivers: list[DriverOut] = []
        try:
            while True:
                page = await self._client.list_drivers(limit=_PAGE, offset=len(drivers))
                drivers.extend(page.items)
                if not page.items or len(drivers) >= page.total:
                    break
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
        self.drivers = sorted(drivers, key=lambda d: (d.name.casefold(), d.id))
        self.loading = False
        self.notify()
