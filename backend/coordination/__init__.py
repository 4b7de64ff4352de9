"""Leases: which worker runs a job that must run once across all workers (a planning
solve of one organisation's day, the hourly history pruning).

A lease is a name held by one owner (a random token) until it lapses ``ttl_s`` after it
was taken or last renewed: a worker that dies simply stops renewing, and another worker
can take the name once it has lapsed. Only the owner can renew or release it, so a worker
whose lease lapsed (a long pause) can never extend or free the lease another worker took
since.

``Leases`` is the port; ``memory.MemoryLeases`` keeps them in this process (one worker,
the default), ``redis.RedisLeases`` in Redis, shared by every worker on it (chosen by
``factory.create_leases`` from ``REDIS_URL``).
"""

import secrets
from typing import Protocol


def new_token() -> str:
    """A random owner token: nobody else holds the same one."""
    return secrets.token_hex(16)


class Leases(Protocol):
    name: str  # "memory" or "redis"

    async def acquire(self, key: str, ttl_s: float, token: str | None = None) -> str | None:
        """Take ``key`` for ``ttl_s`` seconds if nobody holds it: the owner token (``token``
        if given, else a new random one), or None when someone else holds it."""
        ...

    async def renew(self, key: str, token: str, ttl_s: float) -> bool:
        """Hold ``key`` ``ttl_s`` seconds from now, only if ``token`` still holds it."""
        ...

    async def release(self, key: str, token: str) -> bool:
        """Free ``key``, only if ``token`` still holds it; whether it did."""
        ...

    async def holder(self, key: str) -> str | None:
        """The token holding ``key`` now, or None."""
        ...

    async def close(self) -> None: ...
