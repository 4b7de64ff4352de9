"""The orders grid: a status filter, a search, and pages loaded on demand."""

from collections.abc import Callable

import httpx

from app_kit.errors import failure_message
from app_kit.observable import Observable
from shared.api_client import ApiClient, ApiError
from shared.enums import OrderStatus
from shared.schemas.orders import OrderOut

PAGE_SIZE = 25


class OrdersState(Observable):
    """The orders matching the filter and the search, newest first, ``page_size`` at a time."""

    def __init__(
        self,
        client: ApiClient,
        *,
        on_expired: Callable[[], None],
        page_size: int = PAGE_SIZE,
    ) -> None:
        super().__init__()
        self._client = client
        self._on_expired = on_expired
        self.page_size = page_size
        self._generation = 0
        self.clear()

    def clear(self) -> None:
        """Back to no filter, no search, nothing loaded."""
        self._generation += 1
        self.status_filter: OrderStatus | None = None
        self.query = ""
        self.orders: list[OrderOut] = []
        self.total = 0
        self.loaded = False
        self.loading = False
        self.error: str | None = None
        self.notify()

    @property
    def has_more(self) -> bool:
        return self.loaded and len(self.orders) < self.total

    async def set_status_filter(self, status: OrderStatus | None) -> None:
        """Show only orders in ``status`` (None: every status), from the first page."""
        self.status_filter = status
        await self.reload()

    async def search(self, query: str) -> None:
        """Show only orders whose reference, recipient, address or barcode matches."""
        self.query = query.strip()
        await self.reload()

    async def reload(self) -> None:
        """The first page again, for the current filter and search."""
        await self._fetch(offset=0)

    async def load_more(self) -> None:
        """Append the next page."""
        if self.has_more and not self.loading:
            await self._fetch(offset=len(self.orders))

    async def _fetch(self, *, offset: int) -> None:
        self._generation += 1
        generation = self._generation
        self.loading, self.error = True, None
        self.notify()
        try:
            page = await self._client.list_orders(
                status=[self.status_filter] if self.status_filter else None,
                q=self.query or None,
                limit=self.page_size,
                offset=offset,
            )
        except (ApiError, httpx.TransportError) as exc:
            if generation != self._generation:
                return
            self.loading = False
            self.error = failure_message(exc, self._client.base_url, self._on_expired)
            if self.error is not None:
                self.notify()
            return
        if generation != self._generation:
            return  # the filter or the search changed meanwhile: a newer fetch wins
        known = {order.id for order in self.orders} if offset else set()
        fresh = [order for order in page.items if order.id not in known]
        self.orders = [*self.orders, *fresh] if offset else fresh
        self.total = page.total
        self.loaded, self.loading = True, False
        self.notify()
