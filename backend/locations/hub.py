"""Sockets' side of the broker: one broker subscription per channel, bounded per-socket queues.

The :class:`Hub` subscribes to each broker channel once, however many local sockets watch it
(with Redis that is one subscription per channel per worker, not per socket; the in-process
broker calls the hub back within ``publish`` instead, without a task or a queue per channel),
and hands each message to every :class:`Subscriber` on that channel without awaiting
anything: a socket that never reads cannot slow the broker, the pipeline or any other socket.

Per socket, a :class:`Subscriber` keeps
- **events** (order events) in arrival order, never dropped. Past ``MAX_EVENTS`` unsent
  events the subscriber is *overflowed*: its socket is closed with ``CLOSE_TOO_SLOW`` and the
  client reloads over HTTP and reconnects, so no event is ever silently lost;
- **positions**, stale ones dropped: dispatchers keep the latest position per driver across
  unsent frames, customers only the latest approximate position.

A driver's channel (:attr:`Kind.DRIVER`) is kept like events, each message wrapped as the
driver socket's ``{"type": "update", "update": <message>}`` frame.
"""

import asyncio
import contextlib
import functools
import logging
import time
from collections import deque
from collections.abc import Callable
from enum import Enum
from typing import Any, Protocol, runtime_checkable

import orjson

from backend.realtime.backoff import RESUBSCRIBE
from backend.realtime.broker import Broker
from shared.enums import OrderStatus

log = logging.getLogger(__name__)

MAX_EVENTS = 10_000
CLOSE_TOO_SLOW = 4008
_CUSTOMER_POSITION = b'{"type":"driver_position"'
# Once the order is in one of these, its customer gets no position, whatever else says so.
_CUSTOMER_DONE = frozenset(
    {
        OrderStatus.DELIVERED,
        OrderStatus.FAILED,
        OrderStatus.RETURNED,
        OrderStatus.RESCHEDULED,
        OrderStatus.CANCELLED,
        OrderStatus.CREATED,
    }
)


class Kind(Enum):
    EVENTS = "events"  # every message is an event
    FLEET_POSITIONS = "fleet_positions"  # coalesced dispatcher frames
    ORDER = "order"  # a customer's order channel: events and approximate positions
    DRIVER = "driver"  # a driver's channel: every message, as an update frame


class Subscriber:
    """One socket's pending output; filled by the hub, drained by the socket's writer."""

    def __init__(self) -> None:
        self._events: deque[bytes] = deque()
        self._fleet_raw: bytes | None = None  # one unsent dispatcher frame, as published
        self._fleet_merged: dict[int, Any] | None = None  # several, merged per driver
        self._customer_position: bytes | None = None
        self._wake = asyncio.Event()
        self.overflowed = False  # past MAX_EVENTS: the socket must close (events would be lost)
        self.ended = False  # the socket is closing: its writer stops waiting
        self.on_end: Callable[[], None] | None = None  # called once, when it ends
        self.order_done = False
        self.dropped_positions = 0

    def deliver(self, kind: Kind, message: bytes) -> None:
        if kind is Kind.FLEET_POSITIONS:
            self._fleet_frame(message)
        elif kind is Kind.ORDER and message.startswith(_CUSTOMER_POSITION):
            if self._customer_position is not None:
                self.dropped_positions += 1
            self._customer_position = None if self.order_done else message
        else:
            if kind is Kind.ORDER:
                self._note_status(message)
            elif kind is Kind.DRIVER:
                message = b'{"type":"update","update":' + message + b"}"
            if len(self._events) >= MAX_EVENTS:
                self.overflowed = True
                self.end()
                return
            self._events.append(message)
        self._wake.set()

    def _note_status(self, message: bytes) -> None:
        with contextlib.suppress(ValueError):
            to_status = orjson.loads(message).get("to_status")
            if to_status is not None:
                self.order_done = to_status in _CUSTOMER_DONE
                if self.order_done:
                    self._customer_position = None

    def _fleet_frame(self, message: bytes) -> None:
        if self._fleet_raw is None and self._fleet_merged is None:
            self._fleet_raw = message
            return
        self.dropped_positions += 1
        if self._fleet_merged is None:
            assert self._fleet_raw is not None
            self._fleet_merged = _by_driver(self._fleet_raw)
            self._fleet_raw = None
        self._fleet_merged.update(_by_driver(message))

    def end(self) -> None:
        """The socket is closing (client gone, too slow, credential expired): wake its
        writer, which stops; :meth:`take` has nothing more to give."""
        if self.ended:
            return
        self.ended = True
        self._wake.set()
        if self.on_end is not None:
            self.on_end()

    async def take(self) -> list[bytes]:
        """Wait for output, then return every pending frame: events first, then positions
        (nothing once :meth:`end` was called)."""
        await self._wake.wait()
        if self.ended:
            return []
        self._wake.clear()
        frames = list(self._events)
        self._events.clear()
        if self._fleet_raw is not None:
            frames.append(self._fleet_raw)
        elif self._fleet_merged is not None:
            positions = list(self._fleet_merged.values())
            frames.append(orjson.dumps({"type": "positions", "positions": positions}))
        if self._customer_position is not None:
            frames.append(self._customer_position)
        self._fleet_raw = self._fleet_merged = self._customer_position = None
        return frames


def _by_driver(frame: bytes) -> dict[int, Any]:
    return {p["driver_id"]: p for p in orjson.loads(frame)["positions"]}


@runtime_checkable
class Listening(Protocol):
    """A broker that can call back on publish (the in-process one): no task per channel."""

    def listen(self, channel: str, callback: Callable[[bytes], None]) -> Callable[[], None]: ...


class Hub:
    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._members: dict[str, dict[Subscriber, Kind]] = {}
        self._pumps: dict[str, asyncio.Task[None]] = {}
        self._ready: dict[str, asyncio.Event] = {}
        self._listening = broker if isinstance(broker, Listening) else None
        self._unlisten: dict[str, Callable[[], None]] = {}

    @property
    def sockets(self) -> int:
        return len({s for members in self._members.values() for s in members})

    def sockets_by_audience(self) -> dict[str, int]:
        """Open sockets by who listens: dispatchers (organisation channels), customers
        (order channels) and drivers (their own channel)."""
        audiences = {"org": "dispatcher", "order": "customer", "driver": "driver"}
        seen: dict[str, set[Subscriber]] = {name: set() for name in audiences.values()}
        for channel, members in self._members.items():
            audience = audiences.get(channel.split(":", 1)[0])
            if audience is not None:
                seen[audience].update(members)
        return {audience: len(members) for audience, members in seen.items()}

    async def join(self, subscriber: Subscriber, channels: dict[str, Kind]) -> None:
        """Deliver ``channels`` to ``subscriber`` from now on (returns once subscribed)."""
        for channel, kind in channels.items():
            self._members.setdefault(channel, {})[subscriber] = kind
            if self._listening is not None:
                if channel not in self._unlisten:
                    deliver = functools.partial(self._deliver, channel)
                    self._unlisten[channel] = self._listening.listen(channel, deliver)
            elif channel not in self._pumps:
                self._ready[channel] = asyncio.Event()
                self._pumps[channel] = asyncio.create_task(self._pump(channel))
        for channel in channels:
            if channel not in self._ready:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready[channel].wait(), 5)

    def leave(self, subscriber: Subscriber, channels: dict[str, Kind]) -> None:
        for channel in channels:
            members = self._members.get(channel)
            if members is None:
                continue
            members.pop(subscriber, None)
            if not members:
                del self._members[channel]
                self._ready.pop(channel, None)
                unlisten = self._unlisten.pop(channel, None)
                if unlisten is not None:
                    unlisten()
                pump = self._pumps.pop(channel, None)
                if pump is not None:
                    pump.cancel()

    async def close(self) -> None:
        pumps = list(self._pumps.values())
        for task in pumps:
            task.cancel()
        for task in pumps:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pumps.clear()
        for unlisten in self._unlisten.values():
            unlisten()
        self._unlisten.clear()
        self._members.clear()

    def _deliver(self, channel: str, message: bytes) -> None:
        for subscriber, kind in list(self._members.get(channel, {}).items()):
            subscriber.deliver(kind, message)

    async def _pump(self, channel: str) -> None:
        """Hold the broker subscription of ``channel``; when it fails (Redis restarted, say),
        subscribe again after a growing pause: the sockets stay open and hear what is
        published once the subscription is back."""
        failures = 0
        while True:
            started = time.monotonic()
            try:
                messages = aiter(self._broker.subscribe(channel))
                first = asyncio.ensure_future(anext(messages))
                # The in-memory broker registers on the first step; give it that step.
                await asyncio.sleep(0)
                self._ready[channel].set()
                message = await first
                failures = 0
                while True:
                    self._deliver(channel, message)
                    message = await anext(messages)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A subscription that held for a while failed anew: start the pauses over.
                held_s = time.monotonic() - started
                failures = 1 if held_s > 2 * RESUBSCRIBE.max_s else failures + 1
                if failures == 1:
                    log.warning("subscription to %s failed; resubscribing", channel, exc_info=True)
                await asyncio.sleep(RESUBSCRIBE.delay_s(failures))
