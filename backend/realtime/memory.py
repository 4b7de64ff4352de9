"""In-process broker: the default for a single backend process."""

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator

# A slow subscriber drops its oldest messages rather than stalling publishers.
QUEUE_SIZE = 1000


class MemoryBroker:
    name = "memory"

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[bytes]]] = defaultdict(set)

    async def publish(self, channel: str, message: bytes) -> None:
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
