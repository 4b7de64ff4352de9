"""The sockets' hub and a live socket's serving loop, in process: the in-process broker
calls the hub back (no task per channel), Redis-style brokers are pumped, a socket that
falls too far behind is closed with 4008, an expired credential closes with its code."""

import asyncio
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import orjson
from starlette.types import Message

from backend.locations.hub import CLOSE_TOO_SLOW, MAX_EVENTS, Hub, Kind, Subscriber
from backend.locations.live_feed import CLOSE_EXPIRED, Ending, Feed, serve
from backend.locations.sockets import SocketTransport
from backend.realtime.memory import MemoryBroker


class SubscribeOnly:
    """A broker with only publish/subscribe (like the Redis one): the hub must pump it."""

    name = "subscribe-only"

    def __init__(self) -> None:
        self._inner = MemoryBroker()

    async def publish(self, channel: str, message: bytes) -> None:
        await self._inner.publish(channel, message)

    def subscribe(self, channel: str) -> AsyncIterator[bytes]:
        return self._inner.subscribe(channel)


def event(n: int) -> bytes:
    return orjson.dumps({"type": "order_event", "event_id": n, "to_status": "en_route"})


async def test_the_in_process_broker_reaches_sockets_without_a_task_per_channel() -> None:
    broker = MemoryBroker()
    hub = Hub(broker)
    one, two = Subscriber(), Subscriber()
    tasks_before = len(asyncio.all_tasks())
    await hub.join(one, {"order:1": Kind.ORDER})
    await hub.join(two, {"order:1": Kind.ORDER, "order:2": Kind.ORDER})
    assert len(asyncio.all_tasks()) == tasks_before  # listening, not pumping
    await broker.publish("order:1", event(1))
    await broker.publish("order:2", event(2))
    assert await asyncio.wait_for(one.take(), 1) == [event(1)]
    assert await asyncio.wait_for(two.take(), 1) == [event(1), event(2)]
    hub.leave(one, {"order:1": Kind.ORDER})
    hub.leave(two, {"order:1": Kind.ORDER, "order:2": Kind.ORDER})
    assert broker._listeners == {}  # nobody left listening
    await broker.publish("order:1", event(3))  # reaches nobody, fails nothing
    await hub.close()


async def test_a_drivers_channel_arrives_as_update_frames_in_order() -> None:
    broker = MemoryBroker()
    hub = Hub(broker)
    driver = Subscriber()
    await hub.join(driver, {"driver:7": Kind.DRIVER})
    changed = orjson.dumps({"type": "route_changed", "route_id": 3})
    for message in (event(1), changed):
        await broker.publish("driver:7", message)
    frames = [orjson.loads(f) for f in await asyncio.wait_for(driver.take(), 1)]
    assert frames == [
        {"type": "update", "update": orjson.loads(event(1))},
        {"type": "update", "update": {"type": "route_changed", "route_id": 3}},
    ]
    hub.leave(driver, {"driver:7": Kind.DRIVER})
    await hub.close()


async def test_a_broker_without_callbacks_is_pumped() -> None:
    broker = SubscribeOnly()
    hub = Hub(broker)  # type: ignore[arg-type]
    subscriber = Subscriber()
    await hub.join(subscriber, {"order:1": Kind.ORDER})
    await broker.publish("order:1", event(1))
    assert await asyncio.wait_for(subscriber.take(), 1) == [event(1)]
    await hub.close()


class FakeSocket:
    """The ASGI side of one client (the boundary of this in-process test): records what is
    sent, and can be told to block every send (a client that stopped reading)."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.stuck = asyncio.Event()  # set: sends block forever
        self.gone = asyncio.Event()

    async def receive(self) -> Message:
        await self.gone.wait()
        return {"type": "websocket.disconnect", "code": 1001}

    async def send(self, message: Message) -> None:
        if self.stuck.is_set() and message["type"] == "websocket.send":
            await asyncio.Event().wait()
        self.sent.append(message)


def serving(broker: MemoryBroker, client: FakeSocket, lasts_s: float = 3600) -> asyncio.Task[None]:
    """One order-channel socket served for ``client`` in a task, its credential good for
    ``lasts_s`` seconds; its first frame is ``{}``."""
    state: Any = SimpleNamespace(hub=Hub(broker))
    ending = Ending(time.time() + lasts_s, CLOSE_EXPIRED, "this tracking link has expired")
    feed = Feed({"order:1": Kind.ORDER}, [b"{}"], ending)
    return asyncio.create_task(serve(state, SocketTransport(client.receive, client.send), feed))


async def test_a_socket_too_far_behind_is_closed_with_4008_and_leaves_the_hub() -> None:
    broker, client = MemoryBroker(), FakeSocket()
    socket = serving(broker, client)
    await asyncio.sleep(0.05)
    client.stuck.set()
    await broker.publish("order:1", event(0))  # the writer now blocks sending this one
    await asyncio.sleep(0.05)
    for n in range(1, MAX_EVENTS + 2):
        await broker.publish("order:1", event(n))
    await asyncio.wait_for(socket, 5)  # the blocked send is interrupted
    assert client.sent[-1]["type"] == "websocket.close"
    assert client.sent[-1]["code"] == CLOSE_TOO_SLOW
    assert broker._listeners == {}  # it left the hub


async def test_the_socket_closes_with_the_credentials_code_when_it_expires() -> None:
    client = FakeSocket()
    await asyncio.wait_for(serving(MemoryBroker(), client, lasts_s=0.2), 5)
    assert client.sent[0] == {"type": "websocket.send", "text": "{}"}
    assert client.sent[-1]["type"] == "websocket.close"
    assert client.sent[-1]["code"] == CLOSE_EXPIRED


async def test_a_client_that_leaves_ends_the_socket_without_a_close_frame() -> None:
    broker, client = MemoryBroker(), FakeSocket()
    socket = serving(broker, client)
    await asyncio.sleep(0.05)
    client.gone.set()
    await asyncio.wait_for(socket, 5)
    assert [m["type"] for m in client.sent] == ["websocket.send"]
    assert broker._listeners == {}


async def test_a_send_that_fails_ends_the_socket_quietly() -> None:
    """The client vanished mid-send: the socket ends without an error and leaves the hub
    (no subscription left behind for a client that is gone)."""

    class Vanished(FakeSocket):
        async def send(self, message: Message) -> None:
            raise OSError("connection reset")

    broker = MemoryBroker()
    socket = serving(broker, Vanished())
    await asyncio.wait_for(asyncio.shield(socket), 5)
    await asyncio.sleep(0)
    assert not socket.cancelled()
    assert socket.exception() is None
    assert broker._listeners == {}
