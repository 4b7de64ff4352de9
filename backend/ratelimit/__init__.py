"""Failure-based rate limits: allowances per key (a client address, an account) that a
failure uses up and time gives back, refused with a wait once none is left.

``Limiter`` is the port; ``memory.MemoryLimiter`` keeps the allowances in this process (the
default), ``redis.RedisLimiter`` in Redis, so every worker behind one address shares them
(chosen by ``factory.create_limiter`` from ``REDIS_URL``). Both are token buckets: ``burst``
allowances, coming back at ``per_minute``.
"""

from typing import Protocol


class Limiter(Protocol):
    async def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again; 0 if it may now."""
        ...

    async def miss(self, key: str) -> None:
        """``key`` failed once: it uses up one allowance."""
        ...

    async def close(self) -> None: ...
