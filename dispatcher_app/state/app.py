"""The whole dispatcher app: signing in, then the orders and the drivers."""

import asyncio
from collections.abc import Callable
from datetime import date, datetime, tzinfo

from app_kit.clock import local_timezone, utc_now
from app_kit.session import SessionState
from dispatcher_app.logic.access import refusal
from dispatcher_app.state.drivers import DriversState
from dispatcher_app.state.orders import PAGE_SIZE, OrdersState
from dispatcher_app.state.planning import PlanningState
from shared.api_client import ApiClient


class DispatcherAppState:
    """Ties the session to the data: signing in loads it, signing out forgets it."""

    def __init__(
        self,
        client: ApiClient,
        *,
        now: Callable[[], datetime] = utc_now,
        tz: tzinfo | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._now = now
        self.tz = tz or local_timezone()
        self.session = SessionState(client, refusal)
        self.orders = OrdersState(client, on_expired=self._expired, page_size=page_size)
        self.drivers = DriversState(client, on_expired=self._expired)
        self.planning = PlanningState(client, on_expired=self._expired)

    @property
    def today(self) -> date:
        """Today in the dispatcher's time zone: windows on other days show their date."""
        return self._now().astimezone(self.tz).date()

    async def login(self, email: str, password: str) -> bool:
        """Sign in and load the first page of orders and the drivers."""
        if not await self.session.login(email, password):
            return False
        await self.refresh()
        return True

    async def refresh(self) -> None:
        await asyncio.gather(self.orders.reload(), self.drivers.load())

    def logout(self) -> None:
        self.session.logout()
        self.orders.clear()
        self.drivers.clear()
        self.planning.clear()

    def _expired(self) -> None:
        if self.session.signed_in:
            self.session.expire()
            self.orders.clear()
            self.drivers.clear()
            self.planning.clear()
