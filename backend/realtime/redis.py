"""Redis broker for several backend workers. The only module that imports redis."""

from collections.abc import AsyncIterator

import redis.asyncio as aioredis


class RedisBroker:
    name = "redis"

    def __init__(self, url: str) -> None:
        self._redis = aioredis.from_url(url, socket_connect_timeout=2, socket_timeout=5)

    async def publish(self, channel: str, message: bytes) -> None:
        await self._redis.publish(channel, message)

    async def subscribe(self, channel: str) -> AsyncIterator[bytes]:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(channel)
        try:
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    yield bytes(item["data"])
        finally:
            await pubsub.unsubscribe(channel)
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()
