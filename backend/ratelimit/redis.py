"""The ``Limiter`` in Redis: every worker on the same Redis shares the allowances.

One hash per key (allowance, at), read and updated in one Lua script on Redis' own clock,
so workers on machines whose clocks differ agree; it expires once it would be full again.
"""

import hashlib

import redis.asyncio as aioredis

# KEYS[1]: the bucket; ARGV: refill per second, burst, cost (0: only look), expiry (s).
# Numbers go back as strings: Lua would cut a float reply down to an integer.
_BUCKET = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local found = redis.call('HMGET', KEYS[1], 'allowance', 'at')
local allowance = burst
if found[1] then
  allowance = math.min(burst, tonumber(found[1]) + (now - tonumber(found[2])) * rate)
end
if cost > 0 then
  allowance = allowance - cost
  redis.call('HSET', KEYS[1], 'allowance', tostring(allowance), 'at', tostring(now))
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
if allowance >= 1 then return '0' end
return tostring((1 - allowance) / rate)
"""


class RedisLimiter:
    name = "redis"

    def __init__(self, url: str, scope: str, per_minute: float, burst: float) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a limit needs a refill rate above 0 and a burst of 1 or more")
        self._redis = aioredis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self._script = self._redis.register_script(_BUCKET)
        self.scope = scope
        self.rate = per_minute / 60.0
        self.burst = burst
        self._expiry_s = int(burst / self.rate) + 2  # refilled by then: nothing to keep

    def _key(self, key: str) -> str:
        # Hashed: neither addresses nor account names are stored in Redis as such.
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        return f"lastmile:ratelimit:{self.scope}:{digest}"

    async def _run(self, key: str, cost: int) -> float:
        args = [self.rate, self.burst, cost, self._expiry_s]
        wait = await self._script(keys=[self._key(key)], args=args)
        return float(wait)

    async def retry_after(self, key: str) -> float:
        return await self._run(key, 0)

    async def miss(self, key: str) -> None:
        await self._run(key, 1)

    async def close(self) -> None:
        await self._redis.aclose()
