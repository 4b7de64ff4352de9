"""Today's stops and the driver's shift, loaded from the server.

A load after the first (pushed by :class:`driver_app.state.live.LiveUpdates`, or asked for)
is laid over what the driver was looking at (:func:`driver_app.logic.changes.reconcile`):
the stop they are heading to stays first, and every stop that changed is marked until the
driver says they have seen it.
"""

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime, tzinfo

import httpx

from app_kit.errors import failure_message
from app_kit.observable import Observable
from driver_app.logic.changes import (
    Change,
    Reconciled,
    kept_first_notice,
    reconcile,
    taken_off_notice,
)
from driver_app.logic.shift import SHIFT_CHOICES
from driver_app.logic.stops import StopLine, next_stop_index, order_stops
from shared.api_client import ApiClient, ApiError
from shared.enums import DriverStatus, OrderStatus
from shared.lifecycle import TERMINAL
from shared.schemas.fleet import DriverOut
from shared.schemas.orders import OrderOut

# The server caps a page at 500 rows.
_PAGE = 500
# Orders the server has finished with, whatever the driver did meanwhile.
_SETTLED = TERMINAL | {OrderStatus.FAILED, OrderStatus.RESCHEDULED}


class TodayState(Observable):
    """The signed-in driver's stops for the service date, in route order, and their status.

    ``on_expired`` is called when the server refuses the session, so the app can go back
    to the sign-in screen. ``changed`` (stop id: what changed) and ``notices`` gather what
    reloads brought until :meth:`acknowledge_changes`.
    """

    def __init__(
        self,
        client: ApiClient,
        *,
        on_expired: Callable[[], None],
        now: Callable[[], datetime],
        tz: tzinfo,
    ) -> None:
        super().__init__()
        self._client = client
        self._on_expired = on_expired
        self._now = now
        self.tz = tz
        self._generation = 0  # bumped by every load and by clear()
        self._epoch = 0  # bumped by clear(): nothing from before a sign-out lands after it
        self._shift_changes = 0  # bumped by set_shift: a load begun before keeps its answer
        self._one_load = asyncio.Lock()
        self.clear()

    def clear(self) -> None:
        """Forget everything loaded (after signing out)."""
        self._generation += 1
        self._epoch += 1
        self.lines: list[StopLine] = []
        self.next_index: int | None = None
        self.changed: dict[int, frozenset[Change]] = {}
        self.notices: list[str] = []
        self._kept_first: int | None = None  # the stop kept next against dispatch's order
        self.driver: DriverOut | None = None
        self.waiting: dict[int, OrderStatus] = {}  # order id: where the queued action takes it
        self._fetched: dict[int, OrderOut] = {}  # the orders as the server last sent them
        self.loaded = False
        self.loading = False
        self.shift_busy = False
        self.error: str | None = None
        self.notify()

    @property
    def service_date(self) -> date:
        """Today, in the driver's time zone."""
        return self._now().astimezone(self.tz).date()

    @property
    def next_stop(self) -> StopLine | None:
        return self.lines[self.next_index] if self.next_index is not None else None

    async def load(self) -> None:
        """Fetch the driver's profile, today's routes and the orders on them.

        Loads run one after another (the refresh button, a live update): when this returns,
        what is shown was fetched after it was called. A load asked for before signing out
        does nothing after it."""
        epoch = self._epoch
        async with self._one_load:
            if epoch == self._epoch:
                await self._load()

    async def _load(self) -> None:
        self._generation += 1
        generation = self._generation
        self.loading, self.error = True, None
        self.notify()
        # One call after another: a day has a route or two, and concurrent calls would race
        # to refresh an expired access token.
        shift_changes = self._shift_changes
        try:
            driver = await self._client.my_driver()
            routes = await self._client.list_routes(service_date=self.service_date)
            orders = {o.id: o for route in routes.items for o in await self._orders_on(route.id)}
        except (ApiError, httpx.TransportError) as exc:
            if generation == self._generation:
                self.loading = False
                self._fail(exc)
            return
        if generation != self._generation:
            return  # a sign-out superseded this one
        if shift_changes == self._shift_changes:  # else the driver's own change is newer
            self.driver = driver
        self._fetched = orders
        fresh = [self._overlaid(line) for line in order_stops(routes.items, orders)]
        if self.loaded:
            self._take(reconcile(self.lines, self.next_index, fresh))
        else:
            self.lines, self.next_index = fresh, next_stop_index(fresh)
        self.loaded, self.loading = True, False
        self.notify()

    def set_waiting(self, outcomes: Mapping[int, OrderStatus]) -> None:
        """Orders the driver acted on while their action waits in the offline queue, and the
        status it takes them to: shown at once (a delivered stop is done and the next one
        comes up) without waiting for the network. Pass what is still queued each time."""
        if dict(outcomes) == self.waiting:
            return
        self.waiting = dict(outcomes)
        self.lines = [
            self._overlaid(replace(line, order=self._fetched.get(line.stop.order_id, line.order)))
            for line in self.lines
        ]
        self.next_index = next_stop_index(self.lines)
        self.notify()

    def _overlaid(self, line: StopLine) -> StopLine:
        """``line`` as the driver's queued action leaves it (the server's word when the order
        is already past it: the queue will tell the driver about a conflict)."""
        order, status = line.order, self.waiting.get(line.stop.order_id)
        if order is None or status is None or order.status in _SETTLED or order.status is status:
            return line
        return replace(line, order=order.model_copy(update={"status": status}))

    def _take(self, update: Reconciled) -> None:
        self.lines, self.next_index = update.lines, update.next_index
        present = {line.stop.id for line in self.lines}
        changed = {k: v for k, v in self.changed.items() if k in present}
        for stop_id, changes in update.changed.items():
            changed[stop_id] = changed.get(stop_id, frozenset()) | changes
        self.changed = changed
        kept = update.kept_first
        if kept is not None and kept.stop.id != self._kept_first:
            self._notice(kept_first_notice(kept))  # once, when it starts
        self._kept_first = kept.stop.id if kept is not None else None
        if update.taken_off:
            self._notice(taken_off_notice(update.taken_off))

    def _notice(self, text: str) -> None:
        if text not in self.notices:
            self.notices.append(text)

    def acknowledge_changes(self) -> None:
        """The driver has seen the marked changes and the notices."""
        self.changed, self.notices = {}, []
        self.notify()

    async def set_shift(self, status: DriverStatus) -> None:
        """Go on or off shift, or take a break."""
        if status not in SHIFT_CHOICES:
            raise ValueError(f"a driver chooses among {', '.join(SHIFT_CHOICES)}, not {status}")
        epoch = self._epoch
        self.shift_busy, self.error = True, None
        self.notify()
        try:
            driver = await self._client.set_my_status(status)
        except (ApiError, httpx.TransportError) as exc:
            if epoch == self._epoch:
                self.shift_busy = False
                self._fail(exc)
            return
        if epoch != self._epoch:
            return
        self._shift_changes += 1
        self.driver, self.shift_busy = driver, False
        self.notify()

    async def _orders_on(self, route_id: int) -> list[OrderOut]:
        orders: list[OrderOut] = []
        while True:
            page = await self._client.list_orders(
                route_id=route_id, limit=_PAGE, offset=len(orders)
            )
            orders.extend(page.items)
            if not page.items or len(orders) >= page.total:
                return orders

    def _fail(self, exc: Exception) -> None:
        self.error = failure_message(exc, self._client.base_url, self._on_expired)
        if self.error is not None:
            self.notify()
