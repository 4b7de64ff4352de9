"""The orders grid: filters (status, window, driver, zone), a sort, a search, pages loaded
on demand, and the orders the dispatcher ticked."""

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, tzinfo
from typing import Literal

from app_kit.loading import ServerState
from dispatcher_app.logic.order_filters import (
    UNASSIGNED_KEY,
    DayRange,
    SortChoice,
    WindowChoice,
    preset_days,
)
from shared.api_client import ApiClient
from shared.enums import OrderStatus
from shared.schemas.common import Page
from shared.schemas.orders import OrderOut

PAGE_SIZE = 25

# A driver's id, "unassigned" (orders on no driver), or None (every order).
DriverFilter = int | Literal["unassigned"] | None


class OrdersState(ServerState):
    """The orders matching the filters and the search, in the chosen order, ``page_size``
    at a time. ``selected`` holds the ids of ticked orders; a reload keeps those still
    listed."""

    def __init__(
        self,
        client: ApiClient,
        *,
        on_expired: Callable[[], None],
        page_size: int = PAGE_SIZE,
        tz: tzinfo = UTC,
        today: Callable[[], date] | None = None,
    ) -> None:
        super().__init__(client, on_expired=on_expired)
        self.page_size = page_size
        self.tz = tz
        self._today = today or (lambda: datetime.now(tz).date())
        self.clear()

    def clear(self) -> None:
        """Back to no filter, no search, nothing loaded, nothing selected."""
        self._forget_reads()
        self.status_filter: OrderStatus | None = None
        self.driver_filter: DriverFilter = None
        self.zone_filter: int | None = None
        self.window_choice = WindowChoice.ANY
        self.days: DayRange | None = None
        self.sort = SortChoice.NEWEST
        self.query = ""
        self.orders: list[OrderOut] = []
        self.selected: set[int] = set()
        self.total = 0
        self.loaded = False
        self.error = None
        self.notify()

    @property
    def has_more(self) -> bool:
        return self.loaded and len(self.orders) < self.total

    # --- filters ----------------------------------------------------------------------
    async def set_status_filter(self, status: OrderStatus | None) -> None:
        """Show only orders in ``status`` (None: every status), from the first page."""
        self.status_filter = status
        await self.reload()

    async def set_driver_filter(self, driver: DriverFilter) -> None:
        """Only one driver's orders, only those on no driver (``"unassigned"``), or all."""
        self.driver_filter = driver
        await self.reload()

    async def set_zone_filter(self, zone_id: int | None) -> None:
        """Only orders dropping off inside the zone (None: anywhere)."""
        self.zone_filter = zone_id
        await self.reload()

    async def set_window(self, choice: WindowChoice, days: DayRange | None = None) -> None:
        """Only orders whose dropoff window meets these local days: a preset, or
        ``RANGE`` with ``days``."""
        if choice is WindowChoice.RANGE:
            if days is None:
                raise ValueError("a range of dates needs its days")
            self.days = days
        else:
            self.days = preset_days(choice, self._today())
        self.window_choice = choice
        await self.reload()

    async def set_sort(self, sort: SortChoice) -> None:
        self.sort = sort
        await self.reload()

    async def search(self, query: str) -> None:
        """Show only orders whose reference, recipient, address or barcode matches."""
        self.query = query.strip()
        await self.reload()

    # --- selection --------------------------------------------------------------------
    def toggle(self, order_id: int) -> None:
        """Tick an order, or untick it."""
        self.selected ^= {order_id}
        self.notify()

    def select_all_loaded(self) -> None:
        self.selected = {order.id for order in self.orders}
        self.notify()

    def clear_selection(self) -> None:
        self.selected = set()
        self.notify()

    @property
    def all_loaded_selected(self) -> bool:
        return bool(self.orders) and all(order.id in self.selected for order in self.orders)

    def selected_orders(self) -> list[OrderOut]:
        """The ticked orders, in the grid's order."""
        return [order for order in self.orders if order.id in self.selected]

    # --- reading ----------------------------------------------------------------------
    async def reload(self) -> None:
        """The first page again, for the current filters, sort and search."""
        await self._fetch(offset=0)

    async def load_more(self) -> None:
        """Append the next page."""
        if self.has_more and not self.loading:
            await self._fetch(offset=len(self.orders))

    def _page(self, offset: int) -> Callable[[], Awaitable[Page[OrderOut]]]:
        driver = self.driver_filter
        window_from, window_to = self.days.bounds(self.tz) if self.days else (None, None)

        async def fetch() -> Page[OrderOut]:
            return await self._client.list_orders(
                status=[self.status_filter] if self.status_filter else None,
                driver_id=driver if isinstance(driver, int) else None,
                unassigned=True if driver == UNASSIGNED_KEY else None,
                zone_id=self.zone_filter,
                window_from=window_from,
                window_to=window_to,
                q=self.query or None,
                sort=self.sort.value,
                limit=self.page_size,
                offset=offset,
            )

        return fetch

    async def _fetch(self, *, offset: int) -> None:
        got = await self._read(self._page(offset))
        if got is None:
            return  # failed (``error`` says why) or a newer read overtook it
        page = got.value
        known = {order.id for order in self.orders} if offset else set()
        fresh = [order for order in page.items if order.id not in known]
        self.orders = [*self.orders, *fresh] if offset else fresh
        listed = {order.id for order in self.orders}
        self.selected &= listed
        self.total = page.total
        self.loaded = True
        self.notify()
