"""The whole driver app: signing in, then today's stops."""

from collections.abc import Callable
from datetime import datetime, tzinfo

from app_kit.clock import local_timezone, utc_now
from app_kit.session import SessionState
from driver_app.logic.access import refusal
from driver_app.state.today import TodayState
from shared.api_client import ApiClient


class DriverAppState:
    """Ties the session to the day's data: signing in loads it, signing out forgets it."""

    def __init__(
        self,
        client: ApiClient,
        *,
        now: Callable[[], datetime] = utc_now,
        tz: tzinfo | None = None,
    ) -> None:
        self.session = SessionState(client, refusal)
        self.today = TodayState(
            client, on_expired=self._expired, now=now, tz=tz or local_timezone()
        )

    async def login(self, email: str, password: str) -> bool:
        """Sign in and load today's stops."""
        if not await self.session.login(email, password):
            return False
        await self.today.load()
        return True

    def logout(self) -> None:
        self.session.logout()
        self.today.clear()

    def _expired(self) -> None:
        if self.session.signed_in:
            self.session.expire()
            self.today.clear()
