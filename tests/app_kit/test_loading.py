"""Reads from the server: the newest wins, a failure is a message, an expired session is not."""

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from app_kit.loading import Got, ServerState, all_pages
from shared.api_client import ApiClient, ApiError, AuthError
from shared.schemas.common import Page


class Counter(ServerState):
    """A state that shows what its last read brought."""

    def __init__(self, client: ApiClient, expired: list[bool]) -> None:
        super().__init__(client, on_expired=lambda: expired.append(True))
        self.shown: object = None

    async def load(self, fetch: Callable[[], Awaitable[object]]) -> None:
        got = await self._read(fetch)
        if got is not None:
            self.shown = got.value
            self.notify()


def _state() -> tuple[Counter, list[bool]]:
    expired: list[bool] = []
    return Counter(ApiClient("http://lastmile.test"), expired), expired


async def test_a_newer_read_wins_over_a_slower_older_one() -> None:
    state, _ = _state()
    slow = asyncio.Event()

    async def old() -> str:
        await slow.wait()
        return "old"

    async def new() -> str:
        return "new"

    first = asyncio.create_task(state.load(old))
    await asyncio.sleep(0)
    await state.load(new)
    slow.set()
    await first
    assert state.shown == "new"
    assert not state.loading


async def test_signing_out_drops_a_read_under_way() -> None:
    state, _ = _state()
    gate = asyncio.Event()

    async def fetch() -> str:
        await gate.wait()
        return "stale"

    reading = asyncio.create_task(state.load(fetch))
    await asyncio.sleep(0)
    assert state.loading
    state._forget_reads()
    gate.set()
    await reading
    assert state.shown is None
    assert not state.loading


async def test_a_refusal_is_shown_in_the_servers_words() -> None:
    state, expired = _state()

    async def fetch() -> str:
        raise ApiError(409, "conflict", "the route is already published")

    await state.load(fetch)
    assert state.error == "the route is already published"
    assert not state.loading
    assert expired == []


async def test_an_unreachable_server_says_which() -> None:
    state, _ = _state()

    async def fetch() -> str:
        raise httpx.ConnectError("refused")

    await state.load(fetch)
    assert state.error is not None
    assert "http://lastmile.test" in state.error


async def test_an_expired_session_goes_to_sign_in_without_an_error() -> None:
    state, expired = _state()

    async def fetch() -> str:
        raise AuthError(401, "unauthorized", "token expired")

    await state.load(fetch)
    assert expired == [True]
    assert state.error is None


async def test_a_read_of_none_is_still_a_read() -> None:
    state, _ = _state()

    async def fetch() -> None:
        return None

    assert await state._read(fetch) == Got(None)


async def test_all_pages_reads_until_the_total() -> None:
    rows = list(range(7))
    asked: list[int] = []

    async def fetch(offset: int) -> Page[int]:
        asked.append(offset)
        return Page[int](items=rows[offset : offset + 3], total=len(rows), limit=3, offset=offset)

    assert await all_pages(fetch) == rows
    assert asked == [0, 3, 6]
