"""The in-process ``Limiter``: each worker counts on its own (behind several workers a key
gets that many tries per worker; configure ``REDIS_URL`` to share the counts)."""

from backend.ratelimit.buckets import TokenBuckets


class MemoryLimiter:
    name = "memory"

    def __init__(self, per_minute: float = 20.0, burst: float = 20.0) -> None:
        self.buckets = TokenBuckets(per_minute, burst)

    async def retry_after(self, key: str) -> float:
        return self.buckets.retry_after(key)

    async def miss(self, key: str) -> None:
        self.buckets.miss(key)

    async def close(self) -> None:
        return None
