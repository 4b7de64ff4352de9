"""Redis broker for several backend workers. The only module that imports redis.

When Redis goes away (restart, network), publishing fails fast rather than making every
caller wait for a connect timeout: after a failure, :meth:`RedisBroker.publish` raises
:class:`BrokerUnavailableError` at once until the next attempt is due (``backoff``: 0.25 s
doubling to 2 s), then tries Redis again; :meth:`RedisBroker.ping` (``/health``) always
tries. Subscriptions end with an error when their connection drops; their owners
(:class:`backend.locations.hub.Hub`, the fan-out) subscribe again with a backoff.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from backend.realtime.backoff import Backoff
from backend.realtime.broker import BrokerUnavailableError

_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisBroker:
    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = aioredis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self._backoff = backoff or Backoff(first_s=0.25, max_s=2.0)
        self._clock = clock
        self._failures = 0  # failed attempts in a row
        self._retry_at = 0.0  # monotonic: publishing fails fast until then
        # Every subscription of this worker shares one connection (one per channel would
        # exhaust the client's pool of 100 past ~100 watched orders): channel -> queues of
        # its subscribers; one reader task hands out what arrives.
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._listeners: dict[str, set[asyncio.Queue[bytes | Exception]]] = {}
        self._subscribing = asyncio.Lock()

    async def publish(self, channel: str, message: bytes) -> None:
        if self._failures and self._clock() < self._retry_at:
            raise BrokerUnavailableError("Redis is unreachable; not published")
        try:
            await self._redis.publish(channel, message)
        except _UNREACHABLE as exc:
            self._failed()
            raise BrokerUnavailableError(f"Redis is unreachable: {exc}") from exc
        self._failures = 0

    async def subscribe(self, channel: str) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[bytes | Exception] = asyncio.Queue()
        await self._join(channel, queue)
        try:
            while True:
                item = await queue.get()
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            await self._leave(channel, queue)

    async def _join(self, channel: str, queue: asyncio.Queue[bytes | Exception]) -> None:
        async with self._subscribing:
            listeners = self._listeners.setdefault(channel, set())
            listeners.add(queue)
            if len(listeners) > 1:
                return  # the channel is already subscribed on the shared connection
            if self._pubsub is None:
                self._pubsub = self._redis.pubsub()
            try:
                await self._pubsub.subscribe(channel)
            except _UNREACHABLE as exc:
                self._drop(exc)
                raise BrokerUnavailableError(f"subscription to {channel} lost: {exc}") from exc
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read(self._pubsub), name="redis-pubsub")

    async def _leave(self, channel: str, queue: asyncio.Queue[bytes | Exception]) -> None:
        async with self._subscribing:
            listeners = self._listeners.get(channel)
            if listeners is None or queue not in listeners:
                return  # dropped with the connection
            listeners.discard(queue)
            if not listeners:
                del self._listeners[channel]
                if self._pubsub is not None:
                    with contextlib.suppress(*_UNREACHABLE):
                        await self._pubsub.unsubscribe(channel)

    async def _read(self, pubsub: PubSub) -> None:
        """Hand every message to the queues of its channel, until the connection fails;
        then every subscription ends with :class:`BrokerUnavailableError`."""
        try:
            while True:
                item = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                if item is None or item.get("type") != "message":
                    continue
                data = bytes(item["data"])
                for queue in self._listeners.get(item["channel"].decode(), ()):
                    queue.put_nowait(data)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # whatever ended the connection ends every subscription
            async with self._subscribing:
                if self._pubsub is pubsub:
                    self._drop(exc)

    def _drop(self, exc: Exception) -> None:
        """The shared connection is gone: end every subscription; the next one opens a
        new connection."""
        error = BrokerUnavailableError(f"subscriptions lost: {exc}")
        for listeners in self._listeners.values():
            for queue in listeners:
                queue.put_nowait(error)
        self._listeners = {}
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            closing = asyncio.ensure_future(pubsub.aclose())  # type: ignore[no-untyped-call]
            closing.add_done_callback(lambda done: done.cancelled() or done.exception())
        if self._reader is not None and self._reader is not asyncio.current_task():
            self._reader.cancel()
        self._reader = None

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except _UNREACHABLE:
            self._failed()
            raise
        self._failures = 0

    def _failed(self) -> None:
        now = self._clock()
        if now >= self._retry_at:  # concurrent failures of one attempt count once
            self._failures += 1
            self._retry_at = now + self._backoff.delay_s(self._failures)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._redis.aclose()
