"""Signing in and out, and what went wrong when signing in did not work."""

from collections.abc import Callable

import httpx

from app_kit.errors import describe_error
from app_kit.observable import Observable
from shared.api_client import ApiClient, ApiError, AuthError
from shared.schemas.auth import Me, TokenPair

SESSION_EXPIRED = "Your session has expired; sign in again."


class SessionState(Observable):
    """The signed-in user, or the reason there is none.

    ``refusal`` decides who may use this app: it returns a message for people who may not.
    """

    def __init__(self, client: ApiClient, refusal: Callable[[Me], str | None]) -> None:
        super().__init__()
        self._client = client
        self._refusal = refusal
        self.user: Me | None = None
        self.error: str | None = None
        self.busy = False

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    @property
    def server_url(self) -> str:
        return self._client.base_url

    async def login(self, email: str, password: str) -> bool:
        """Sign in; on failure ``error`` says why (the server's own message when it has one)."""
        email = email.strip()
        if not email or not password:
            self.error = "Enter your email and password."
            self.notify()
            return False
        self.busy, self.error = True, None
        self.notify()
        try:
            await self._client.login(email, password)
            me = await self._client.me()
        except (ApiError, httpx.TransportError) as exc:
            self._client.tokens = None
            self.busy, self.error = False, describe_error(exc, self.server_url)
            self.notify()
            return False
        return self._admit(me)

    async def resume(self, refresh_token: str) -> bool:
        """Sign in again with a refresh token kept from an earlier session (the app was
        closed). A refused token just leaves the sign-in form; an unreachable server says so
        (the token is not lost: the next start tries again)."""
        self.busy, self.error = True, None
        self.notify()
        self._client.tokens = TokenPair(access_token="", refresh_token=refresh_token, expires_in=0)
        try:
            await self._client.refresh()
            me = await self._client.me()
        except AuthError:
            self._client.tokens = None
            self.busy = False
            self.notify()
            return False
        except (ApiError, httpx.TransportError) as exc:
            self._client.tokens = None
            self.busy, self.error = False, describe_error(exc, self.server_url)
            self.notify()
            return False
        return self._admit(me)

    def _admit(self, me: Me) -> bool:
        refused = self._refusal(me)
        if refused is not None:
            self._client.tokens = None
            self.busy, self.error = False, refused
            self.notify()
            return False
        self.busy, self.user = False, me
        self.notify()
        return True

    def logout(self, message: str | None = None) -> None:
        """Forget this device's tokens; ``message`` explains an involuntary sign-out.

        Deliberately not ``POST /auth/logout``: that ends the user's sessions on every device.
        """
        self._client.tokens = None
        self.user, self.error, self.busy = None, message, False
        self.notify()

    def expire(self) -> None:
        """The server no longer accepts this session (and refreshing it failed)."""
        self.logout(SESSION_EXPIRED)
