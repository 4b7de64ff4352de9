"""The whole dispatcher app: signing in, then the orders and the drivers."""

import asyncio
from collections.abc import Callable
from datetime import date, datetime, tzinfo

from app_kit.clock import local_timezone, utc_now
from app_kit.session import SessionState
from dispatcher_app.logic.access import refusal
from dispatcher_app.state.assign import AssignState
from dispatcher_app.state.drivers import DriversState
from dispatcher_app.state.exceptions import ExceptionsState
from dispatcher_app.state.fleet_map import FleetMapState
from dispatcher_app.state.kpis import KpisState
from dispatcher_app.state.navigation import Navigation
from dispatcher_app.state.order_create import CreateOrderState
from dispatcher_app.state.order_import import ImportState
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
        self.orders = OrdersState(
            client,
            on_expired=self._expired,
            page_size=page_size,
            tz=self.tz,
            today=lambda: self.today,
        )
        self.order_create = CreateOrderState(
            client, on_expired=self._expired, on_created=self.orders.reload, tz=self.tz
        )
        self.order_import = ImportState(
            client, on_expired=self._expired, on_imported=self.orders.reload, tz=self.tz
        )
        self.drivers = DriversState(client, on_expired=self._expired)
        self.planning = PlanningState(client, on_expired=self._expired)
        self.nav = Navigation()
        self.fleet = FleetMapState(client, on_expired=self._expired)
        self.assign = AssignState(client, on_expired=self._expired, on_published=self._after_change)
        self.exceptions = ExceptionsState(client, on_expired=self._expired)
        self.fleet.frame_listeners.append(self.exceptions.heard)
        self.kpis = KpisState(client, on_expired=self._expired, now=now, tz=self.tz)
        self.fleet.frame_listeners.append(self.kpis.heard)

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
        await asyncio.gather(
            self.orders.reload(),
            self.drivers.load(),
            self.fleet.load(),
            self.exceptions.load(),
            self.kpis.load(),
        )

    async def _after_change(self) -> None:
        """A change was published: the grid, the map and the inbox show it."""
        await asyncio.gather(self.orders.reload(), self.fleet.load(), self.exceptions.load())

    def logout(self) -> None:
        self.session.logout()
        self._forget()

    def _expired(self) -> None:
        if self.session.signed_in:
            self.session.expire()
            self._forget()

    def _forget(self) -> None:
        """Nothing of the signed-out user stays on screen."""
        for part in (
            self.orders,
            self.order_create,
            self.order_import,
            self.drivers,
            self.planning,
            self.fleet,
            self.assign,
            self.exceptions,
            self.kpis,
        ):
            part.clear()
        self.nav.reset()
