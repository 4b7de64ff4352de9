"""Publish/subscribe between the parts of the backend (and, with Redis, between workers)."""

from collections.abc import AsyncIterator
from typing import Protocol


class Broker(Protocol):
    """A fan-out bus. Channel names come from :mod:`shared.channels`."""

    name: str

    async def publish(self, channel: str, message: bytes) -> None: ...

    def subscribe(self, channel: str) -> AsyncIterator[bytes]:
        """Messages published on ``channel`` after the subscription starts."""
        ...

    async def ping(self) -> None:
        """Raise if the broker cannot be reached."""
        ...

    async def close(self) -> None: ...
