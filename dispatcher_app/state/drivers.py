"""The organisation's drivers and their status, for the drivers panel and the grid."""

from collections.abc import Callable

from app_kit.loading import ServerState, all_pages
from shared.api_client import ApiClient
from shared.schemas.fleet import DriverOut

# The server caps a page at 500 rows.
PAGE = 500


class DriversState(ServerState):
    """Every driver of the organisation, by name."""

    def __init__(self, client: ApiClient, *, on_expired: Callable[[], None]) -> None:
        super().__init__(client, on_expired=on_expired)
        self.clear()

    def clear(self) -> None:
        self._forget_reads()
        self.drivers: list[DriverOut] = []
        self.error = None
        self.notify()

    @property
    def names(self) -> dict[int, str]:
        return {driver.id: driver.name for driver in self.drivers}

    async def load(self) -> None:
        got = await self._read(lambda: all_drivers(self._client))
        if got is None:
            return
        self.drivers = sorted(got.value, key=lambda d: (d.name.casefold(), d.id))
        self.notify()


async def all_drivers(client: ApiClient) -> list[DriverOut]:
    """Every driver, a page of ``PAGE`` at a time."""
    return await all_pages(lambda offset: client.list_drivers(limit=PAGE, offset=offset))
