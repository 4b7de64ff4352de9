"""The whole driver app: signing in, then today's stops, kept live."""

from collections.abc import Callable
from datetime import datetime, tzinfo

from app_kit.clock import local_timezone, utc_now
from app_kit.session import SessionState
from driver_app.logic.access import refusal
from driver_app.state.live import Connect, LiveUpdates, websocket
from driver_app.state.today import TodayState
from shared.api_client import ApiClient


class DriverAppState:
    """Ties the session to the day's data: signing in loads it and opens the live updates,
    signing out (or an expired session) closes them and forgets it."""

    def __init__(
        self,
        client: ApiClient,
        *,
        now: Callable[[], datetime] = utc_now,
        tz: tzinfo | None = None,
        connect: Connect = websocket,
    ) -> None:
        self.session = SessionState(client, refusal)
        self.today = TodayState(
            client, on_expired=self._expired, now=now, tz=tz or local_timezone()
        )
        self.live = LiveUpdates(
            client, on_update=self.today.load, on_expired=self._expired, connect=connect
        )

    async def login(self, email: str, password: str) -> bool:
        """Sign in, load today's stops and start listening for changes."""
        if not await self.session.login(email, password):
            return False
        await self.today.load()
        if self.session.signed_in:
            self.live.start()
        return True

    def logout(self) -> None:
        self.live.stop()
        self.session.logout()
        self.today.clear()

    async def aclose(self) -> None:
        """The app is closing (its browser tab went away): close the socket."""
        await self.live.aclose()

    def _expired(self) -> None:
        self.live.stop()
        if self.session.signed_in:
            self.session.expire()
            self.today.clear()
