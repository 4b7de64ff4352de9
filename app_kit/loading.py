"""Reading a state's data from the server: the newest read wins, a failure becomes a message."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from app_kit.errors import failure_message
from app_kit.observable import Observable
from shared.api_client import ApiClient, ApiError
from shared.schemas.common import Page


@dataclass(frozen=True, slots=True)
class Got[T]:
    """What a read brought back (a box, so that a read of ``None`` is still a read)."""

    value: T


class ServerState(Observable):
    """A state the app fills from the server, with ``loading`` and ``error`` for its view.

    :meth:`_read` runs one read: a later read, or :meth:`_forget_reads` (signing out),
    makes an earlier one's answer arrive to nobody; a refused session goes back to sign-in
    through ``on_expired`` and shows no error here."""

    def __init__(self, client: ApiClient, *, on_expired: Callable[[], None]) -> None:
        super().__init__()
        self._client = client
        self._on_expired = on_expired
        self._generation = 0
        self.loading = False
        self.error: str | None = None

    def _forget_reads(self) -> None:
        """Reads under way will be ignored when they finish."""
        self._generation += 1
        self.loading = False

    async def _read[T](self, fetch: Callable[[], Awaitable[T]]) -> Got[T] | None:
        """Run ``fetch`` with ``loading`` shown. None when it failed (``error`` says why)
        or was overtaken; otherwise the value, with ``loading`` off and the view not yet
        told: the caller stores the value, then calls ``notify``."""
        self._generation += 1
        generation = self._generation
        self.loading, self.error = True, None
        self.notify()
        try:
            value = await fetch()
        except (ApiError, httpx.TransportError) as exc:
            if generation != self._generation:
                return None
            self.loading = False
            self.error = failure_message(exc, self._client.base_url, self._on_expired)
            if self.error is not None:
                self.notify()
            return None
        if generation != self._generation:
            return None
        self.loading = False
        return Got(value)


async def all_pages[T](fetch: Callable[[int], Awaitable[Page[T]]]) -> list[T]:
    """Every row of a paged list: ``fetch(offset)`` until the total is reached."""
    rows: list[T] = []
    while True:
        page = await fetch(len(rows))
        rows.extend(page.items)
        if not page.items or len(rows) >= page.total:
            return rows
