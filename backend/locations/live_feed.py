"""What a live view receives, whatever carries it: the dispatchers' fleet feed and a
customer's order feed, served over a :class:`Transport` (the WebSockets of
:mod:`backend.locations.sockets`, the Server-Sent Events of :mod:`backend.locations.sse`).

A feed is its broker channels (through the :class:`~backend.locations.hub.Hub`), the
frames sent first (``hello``, then the fleet's current positions or the order's
``snapshot``) and when its credential runs out. :func:`serve` subscribes, sends, and
ends when the client leaves, reads too slowly or the credential expires, telling the
client why through the transport (a close code, or a last ``closed`` event).

No database session is held while a feed is served: one short session when it opens.
"""

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.locations.fanout import positions_frame
from backend.locations.hub import CLOSE_TOO_SLOW, Kind, Subscriber
from backend.models import TrackingLink
from backend.state import AppState
from backend.tracking_links import service as tracking
from shared.channels import fleet_positions_channel, order_channel, org_channel

CLOSE_UNAUTHORIZED = 4401
CLOSE_EXPIRED = 4410


@dataclass(frozen=True, slots=True)
class Ending:
    """When a feed's credential runs out, and how the client is told then."""

    at: float  # epoch seconds
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class Feed:
    channels: dict[str, Kind]
    first: list[bytes]
    ending: Ending


class Transport(Protocol):
    """How frames reach one client."""

    keep_alive_s: float | None  # send an empty batch after this long without frames

    async def send(self, frames: list[bytes]) -> None:
        """Send ``frames`` (JSON messages) in order; ``[]``: a keep-alive, if any."""

    async def gone(self) -> None:
        """Return once the client has left."""

    async def close(self, code: int, reason: str) -> None:
        """Tell the client why the feed ends (``code`` as the sockets' close codes)."""


async def fleet_feed(state: AppState, org_id: int, expires_at: float) -> Feed:
    """Live positions and events of ``org_id``, for an admin or dispatcher whose access
    token expires at ``expires_at``."""
    channels = {
        org_channel(org_id): Kind.EVENTS,
        fleet_positions_channel(org_id): Kind.FLEET_POSITIONS,
    }
    positions = await state.locations.positions(org_id)
    first = [_json({"type": "hello", "org_id": org_id})]
    if positions:
        first.append(positions_frame({p.driver.driver_id: p.fix for p in positions}))
    ending = Ending(expires_at, CLOSE_UNAUTHORIZED, "the access token expired: reconnect")
    return Feed(channels, first, ending)


async def track_feed(state: AppState, token: str, client: str | None) -> tuple[Feed, TrackingLink]:
    """One order's live view through its tracking token (checked as ``GET
    /track/{token}`` does, guesses counted per ``client`` address): the approximate driver
    position and status events. Raises the link's :class:`~backend.errors.AppError`."""
    async with state.socket_opens, AsyncSession(state.engine) as session:
        link = await tracking.resolve(session, token, state.guesses, client)
        view = await tracking.view_for_link(
            session, link, locate=state.fanout.customer_position, settings=state.settings
        )
    first = [
        _json({"type": "hello", "order_id": link.order_id}),
        _json({"type": "snapshot", "view": view.model_dump(mode="json")}),
    ]
    ending = Ending(link.expires_at.timestamp(), CLOSE_EXPIRED, "this tracking link has expired")
    return Feed({order_channel(link.order_id): Kind.ORDER}, first, ending), link


async def serve(
    state: AppState,
    transport: Transport,
    feed: Feed,
    catch_up: Callable[[], Awaitable[list[bytes]]] | None = None,
) -> None:
    """Send the feed's first frames (then ``catch_up()``'s, read once subscribed, so
    nothing falls between them and the live ones), then whatever its channels bring,
    until the client leaves, reads too slowly (``4008``) or the credential runs out. A
    send the client does not read blocks; the end of the feed interrupts it."""
    subscriber = Subscriber()
    await state.hub.join(subscriber, feed.channels)
    writer = asyncio.current_task()
    assert writer is not None
    expired = sending = interrupted = False

    def expire() -> None:
        nonlocal expired
        expired = True
        subscriber.end()

    def interrupt() -> None:  # the subscriber ended: a blocked send must not hold the feed
        nonlocal interrupted
        if sending:
            interrupted = True
            writer.cancel()

    subscriber.on_end = interrupt
    ending = feed.ending
    timer = asyncio.get_running_loop().call_later(max(0.0, ending.at - time.time()), expire)
    reader = asyncio.create_task(_read(transport, subscriber))
    try:
        frames = feed.first if catch_up is None else [*feed.first, *await catch_up()]
        while not subscriber.ended:
            sending = True
            try:
                await transport.send(frames)
            finally:
                sending = False  # also when it failed: ending then interrupts nothing
            frames = await _next(subscriber, transport.keep_alive_s)
    except asyncio.CancelledError:
        if not interrupted:
            raise  # the server is stopping
        writer.uncancel()
    except Exception:
        subscriber.end()  # the client went away mid-send; nothing to tell it
    finally:
        timer.cancel()
        state.hub.leave(subscriber, feed.channels)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
    if subscriber.overflowed:
        await transport.close(CLOSE_TOO_SLOW, "too slow: reload and reconnect")
    elif expired:
        await transport.close(ending.code, ending.reason)


async def _next(subscriber: Subscriber, keep_alive_s: float | None) -> list[bytes]:
    if keep_alive_s is None:
        return await subscriber.take()
    try:
        return await asyncio.wait_for(subscriber.take(), keep_alive_s)
    except TimeoutError:
        return []


async def _read(transport: Transport, subscriber: Subscriber) -> None:
    try:
        await transport.gone()
    finally:
        subscriber.end()


def _json(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body)
