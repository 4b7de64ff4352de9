"""The exceptions inbox: what needs a dispatcher's eyes, how many there are, and the
actions that resolve an item (reassign, reschedule, call, mark resolved)."""

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

import httpx

from app_kit.clock import utc_now
from app_kit.errors import failure_message
from app_kit.loading import ServerState
from dispatcher_app.logic.exceptions import WindowError, changes_inbox, new_window, window_words
from dispatcher_app.state.assign import AssignState
from dispatcher_app.state.navigation import Navigation, Section
from shared.api_client import ApiClient, ApiError
from shared.enums import OrderStatus, StopKind
from shared.schemas.common import TimeWindow
from shared.schemas.exceptions import ExceptionItem
from shared.schemas.orders import OrderUpdate, StopIn, TransitionRequest

LIMIT = 200
# Back to planning before the new window is set: a failed order is rescheduled; one the
# follow-up put back on today's route comes off it (the new window may be another day).
_UNPLAN = {OrderStatus.FAILED: OrderStatus.RESCHEDULED, OrderStatus.ASSIGNED: OrderStatus.CREATED}


class ExceptionsState(ServerState):
    """The inbox as the server lists it, newest first; ``count`` (open items) feeds the
    nav badge. Read again ``settle_s`` after a fleet-socket frame that may change it, and
    every ``poll_s`` while signed in (a driver going silent sends no frame)."""

    def __init__(
        self,
        client: ApiClient,
        *,
        on_expired: Callable[[], None],
        settle_s: float = 1.0,
        poll_s: float = 60.0,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(client, on_expired=on_expired)
        self._settle_s = settle_s
        self._poll_s = poll_s
        self._now = now
        self._soon: asyncio.Task[None] | None = None
        self._poller: asyncio.Task[None] | None = None
        self.clear()

    # --- reading ----------------------------------------------------------------------
    def heard(self, frame: dict[str, Any]) -> None:
        """A frame of the fleet socket: when it may change the inbox, read it again
        ``settle_s`` later (a burst of events costs one reload)."""
        if not changes_inbox(frame) or (self._soon is not None and not self._soon.done()):
            return
        self._soon = asyncio.get_running_loop().create_task(self._reload_soon())

    async def _reload_soon(self) -> None:
        await asyncio.sleep(self._settle_s)
        await self.load()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_s)
            await self.load()

    def clear(self) -> None:
        for task in (self._soon, self._poller):
            if task is not None:
                task.cancel()
        self._soon = self._poller = None
        self._forget_reads()
        self.items: list[ExceptionItem] = []
        self.include_resolved = False
        self.loaded = False
        self.error = None
        self.notice: str | None = None
        self.busy: str | None = None  # the key of the item being acted on
        self.rescheduling: str | None = None  # the key whose new window is being picked
        self.notify()

    async def aclose(self) -> None:
        """Stop reading in the background (the app is closing)."""
        tasks = [t for t in (self._soon, self._poller) if t is not None]
        self.clear()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def count(self) -> int:
        """Open items (the badge): resolved ones shown on request do not count."""
        return sum(1 for item in self.items if item.resolved is None)

    def item(self, key: str) -> ExceptionItem | None:
        return next((i for i in self.items if i.key == key), None)

    async def show_resolved(self, shown: bool) -> None:
        self.include_resolved = shown
        await self.load()

    async def load(self) -> None:
        shown = self.include_resolved
        got = await self._read(lambda: self._client.exceptions(limit=LIMIT, include_resolved=shown))
        if got is None:
            return  # failed (the error is shown), signed out, or a newer load meanwhile
        self.items, self.loaded = got.value, True
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll())
        self.notify()

    # --- acting -----------------------------------------------------------------------
    async def _act(self, key: str, action: Callable[[], Any]) -> bool:
        """Run ``action`` for the item ``key``; its failure is shown, not raised."""
        self.busy, self.error, self.notice = key, None, None
        self.notify()
        try:
            await action()
        except (ApiError, httpx.TransportError) as exc:
            self.busy = None
            self.error = failure_message(exc, self._client.base_url, self._on_expired)
            if self.error is not None:
                self.notify()
            return False
        self.busy = None
        await self.load()
        return True

    async def resolve(self, key: str, note: str = "") -> bool:
        """Mark the item resolved: it leaves the inbox and the badge."""

        async def call() -> None:
            await self._client.resolve_exception(key, note)
            self.notice = "Marked resolved."

        return await self._act(key, call)

    def start_reschedule(self, key: str | None) -> None:
        """Show (or, with None, hide) the new-window choice under the item ``key``."""
        self.rescheduling = key
        self.error = None
        self.notify()

    async def reschedule(self, key: str, start: datetime, end: datetime, tz: tzinfo) -> bool:
        """Give the item's order the window ``start``-``end`` (UTC): a failed order is
        rescheduled (an order put back on today's route comes off it), its drop-off
        gets the new window, and the item is marked resolved with what was done."""
        found = self.item(key)
        if found is None or found.order_id is None:
            self.error = "this item has no order to reschedule"
            self.notify()
            return False
        order_id = found.order_id

        async def call() -> None:
            order = await self._client.get_order(order_id)
            target = _UNPLAN.get(OrderStatus(order.status))
            if target is not None:
                await self._client.transition(
                    order_id,
                    TransitionRequest(to=target, reason="rescheduled from the exceptions inbox"),
                )
            dropoff = next(s for s in order.stops if s.kind is StopKind.DROPOFF)
            stop = StopIn(
                address=dropoff.address,
                lat=dropoff.lat,
                lng=dropoff.lng,
                time_window=TimeWindow(start=start, end=end),
                service_time_s=dropoff.service_time_s,
                arrival_radius_m=dropoff.arrival_radius_m,
            )
            await self._client.update_order(order_id, OrderUpdate(dropoff=stop))
            words = window_words(start, end, tz)
            await self._client.resolve_exception(key, f"rescheduled to {words}")
            self.rescheduling = None
            self.notice = f"Order #{order_id} rescheduled to {words}."

        return await self._act(key, call)

    async def reschedule_to(self, key: str, day: str | None, slot: str | None, tz: tzinfo) -> bool:
        """:meth:`reschedule` to the local ``day`` (``YYYY-MM-DD``) and ``slot`` (start
        hour) picked; an incomplete or past choice is shown, nothing sent."""
        try:
            start, end = new_window(day, slot, tz, self._now())
        except WindowError as exc:
            self.error = str(exc)
            self.notify()
            return False
        return await self.reschedule(key, start, end, tz)

    def open_for_reassign(self, key: str, nav: Navigation, assign: AssignState) -> None:
        """Start giving the item's order to another driver: the Plan section asks which,
        previews the change and publishes it; then the item is marked resolved."""
        found = self.item(key)
        if found is None or found.order_id is None:
            return
        assign.start([found.order_id], resolves=key)
        nav.go(Section.PLAN)
