"""Publish/subscribe between the parts of the backend (and, with Redis, between workers)."""

from collections.abc import AsyncIterator
from typing import Protocol


class BrokerUnavailableError(ConnectionError):
    """The broker cannot be reached now: the message was not published. Live views miss
    it; nothing stored depends on it (positions and events are in the database first)."""


class Broker(Protocol):
    """A fan-out bus. Channel names come from :mod:`shared.channels`."""

    name: str

    async def publish(self, channel: str, message: bytes) -> None:
        """Send ``message`` to the current subscribers of ``channel``; raise
        :class:`BrokerUnavailableError` when the broker cannot be reached."""
        ...

    def subscribe(self, channel: str) -> AsyncIterator[bytes]:
        """Messages published on ``channel`` after the subscription starts."""
        ...

    async def ping(self) -> None:
        """Raise if the broker cannot be reached."""
        ...

    async def close(self) -> None: ...
