"""In-process broker: the default for a single backend process."""

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable

log = logging.getLogger(__name__)

# A slow subscriber drops its oldest messages rather than stalling publishers.
QUEUE_SIZE = 1000


class MemoryBroker:
    name = "memory"

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[bytes]]] = defaultdict(set)
        self._listeners: dict[str, set[Callable[[bytes], None]]] = {}

    def listen(self, channel: str, callback: Callable[[bytes], None]) -> Callable[[], None]:
        """Call ``callback(message)`` for every message published on ``channel`` from now
        on, within :meth:`publish` (it must not block), until the returned function is
        called. No task and no queue per listener: the sockets' hub listens this way on
        every customer's order channel."""
        self._listeners.setdefault(channel, set()).add(callback)

        def stop() -> None:
            callbacks = self._listeners.get(channel)
            if callbacks is not None:
                callbacks.discard(callback)
                if not callbacks:
                    del self._listeners[channel]

        return stop

    async def publish(self, channel: str, message: bytes) -> None:
        for callback in tuple(self._listeners.get(channel, ())):
            try:
                callback(message)
            except Exception:  # one listener's failure must not fail the publisher
                log.exception("a listener of %s failed", channel)
        for queue in self._subscribers.get(channel, ()):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(message)

    async def subscribe(self, channel: str) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers[channel].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers[channel].discard(queue)
            if not self._subscribers[channel]:
                del self._subscribers[channel]

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._subscribers.clear()
        self._listeners.clear()
