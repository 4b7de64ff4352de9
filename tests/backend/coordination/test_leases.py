"""Leases: one holder at a time, only the holder renews or frees it, and it lapses on its
own when the holder stops renewing (a worker that died). In process on a fake clock, and
in a real Redis shared by two clients (two workers)."""

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from backend.coordination import Leases
from backend.coordination.memory import MemoryLeases
from backend.coordination.redis import RedisLeases

KEY = "lastmile:test:lease"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_one_holder_at_a_time_until_it_lapses() -> None:
    clock = Clock()
    leases = MemoryLeases(clock)
    first = await leases.acquire("day", 10)
    assert first is not None
    assert await leases.acquire("day", 10) is None
    assert await leases.holder("day") == first
    assert await leases.acquire("other day", 10) is not None  # names are independent
    clock.now += 9.9
    assert await leases.acquire("day", 10) is None
    clock.now += 0.2  # the holder never renewed: it lapsed
    assert await leases.holder("day") is None
    second = await leases.acquire("day", 10, token="job-2")
    assert second == "job-2"


async def test_renewing_keeps_it_and_a_stale_owner_can_neither_renew_nor_free_it() -> None:
    clock = Clock()
    leases = MemoryLeases(clock)
    first = await leases.acquire("day", 10)
    assert first is not None
    for _ in range(5):  # 25 s held by renewing every 5 s
        clock.now += 5
        assert await leases.renew("day", first, 10)
    assert await leases.acquire("day", 10) is None
    clock.now += 11
    second = await leases.acquire("day", 10)
    assert second is not None
    assert not await leases.renew("day", first, 10)
    assert not await leases.release("day", first)
    assert await leases.holder("day") == second
    assert await leases.release("day", second)
    assert await leases.holder("day") is None


async def test_a_lease_needs_a_time_to_live() -> None:
    with pytest.raises(ValueError, match="positive"):
        await MemoryLeases().acquire("day", 0)


@pytest.fixture
async def two_workers(redis_url: str) -> AsyncIterator[tuple[Leases, Leases]]:
    client = aioredis.from_url(redis_url)
    await client.delete(KEY)
    await client.aclose()
    a, b = RedisLeases(redis_url), RedisLeases(redis_url)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_redis_two_workers_never_hold_it_together(
    two_workers: tuple[Leases, Leases],
) -> None:
    a, b = two_workers
    taken = await asyncio.gather(*(w.acquire(KEY, 5) for w in (a, b) for _ in range(10)))
    holders = [t for t in taken if t is not None]
    assert len(holders) == 1
    assert await a.holder(KEY) == await b.holder(KEY) == holders[0]


async def test_redis_lease_lapses_after_its_holder_vanishes(
    two_workers: tuple[Leases, Leases],
) -> None:
    a, b = two_workers
    assert await a.acquire(KEY, 0.3) is not None
    await a.close()  # the worker is gone: nothing renews its lease
    assert await b.acquire(KEY, 5) is None
    deadline = time.monotonic() + 3
    while (taken := await b.acquire(KEY, 5)) is None:
        assert time.monotonic() < deadline, "the lease never lapsed"
        await asyncio.sleep(0.05)
    assert await b.holder(KEY) == taken


async def test_redis_renewing_keeps_it_and_a_stale_owner_cannot_touch_the_next(
    two_workers: tuple[Leases, Leases],
) -> None:
    a, b = two_workers
    first = await a.acquire(KEY, 0.5, token="job-a")
    assert first == "job-a"
    for _ in range(4):  # 1.2 s held by renewals, well past the first 0.5 s
        await asyncio.sleep(0.3)
        assert await a.renew(KEY, first, 0.5)
        assert await b.acquire(KEY, 5) is None
    assert not await b.renew(KEY, "job-b", 5)  # not b's to renew
    assert not await b.release(KEY, "job-b")
    assert await a.release(KEY, first)
    second = await b.acquire(KEY, 0.3)
    assert second is not None
    assert not await a.release(KEY, first)  # a's lease is over: it cannot free b's
    assert not await a.renew(KEY, first, 5)
    assert await a.holder(KEY) == second
