"""Leases in Redis, shared by every worker on it.

Taking one is ``SET key token NX PX ttl``: atomic, and Redis drops the key when the time
to live runs out, so the lease of a worker that died lapses on its own (on Redis' clock,
whatever the workers' clocks say). Renewing and releasing compare the token and act in one
Lua script, so a worker whose lease lapsed meanwhile cannot touch the new holder's.
"""

import redis.asyncio as aioredis

from backend.coordination import new_token

# KEYS[1]: the lease; ARGV[1]: the owner's token; ARGV[2]: new time to live (ms).
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _ms(ttl_s: float) -> int:
    if ttl_s <= 0:
        raise ValueError("a lease needs a positive time to live")
    return max(1, int(ttl_s * 1000))


class RedisLeases:
    """Implements :class:`backend.coordination.Leases`."""

    name = "redis"

    def __init__(self, url: str) -> None:
        self._redis = aioredis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, decode_responses=True
        )
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)

    async def acquire(self, key: str, ttl_s: float, token: str | None = None) -> str | None:
        token = token or new_token()
        taken = await self._redis.set(key, token, nx=True, px=_ms(ttl_s))
        return token if taken else None

    async def renew(self, key: str, token: str, ttl_s: float) -> bool:
        return bool(await self._renew(keys=[key], args=[token, _ms(ttl_s)]))

    async def release(self, key: str, token: str) -> bool:
        return bool(await self._release(keys=[key], args=[token]))

    async def holder(self, key: str) -> str | None:
        value = await self._redis.get(key)
        return None if value is None else str(value)

    async def close(self) -> None:
        await self._redis.aclose()
