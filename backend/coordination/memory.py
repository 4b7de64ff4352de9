"""Leases in this process: enough for one worker (without ``REDIS_URL``)."""

import time
from collections.abc import Callable

from backend.coordination import new_token


class MemoryLeases:
    """Implements :class:`backend.coordination.Leases`; ``clock`` in seconds (monotonic)."""

    name = "memory"

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._held: dict[str, tuple[str, float]] = {}  # key -> (token, lapses at)

    def _current(self, key: str) -> str | None:
        found = self._held.get(key)
        if found is None:
            return None
        if found[1] <= self._clock():
            del self._held[key]
            return None
        return found[0]

    async def acquire(self, key: str, ttl_s: float, token: str | None = None) -> str | None:
        if ttl_s <= 0:
            raise ValueError("a lease needs a positive time to live")
        if self._current(key) is not None:
            return None
        token = token or new_token()
        self._held[key] = (token, self._clock() + ttl_s)
        return token

    async def renew(self, key: str, token: str, ttl_s: float) -> bool:
        if self._current(key) != token:
            return False
        self._held[key] = (token, self._clock() + ttl_s)
        return True

    async def release(self, key: str, token: str) -> bool:
        if self._current(key) != token:
            return False
        del self._held[key]
        return True

    async def holder(self, key: str) -> str | None:
        return self._current(key)

    async def close(self) -> None:
        self._held.clear()
