"""Server-Sent Events framing and the Last-Event-ID cursor, in process; and the stream's
keep-alive and end, on the serving loop with a fake client."""

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st
from starlette.types import Message

from backend.locations.hub import Hub, Kind
from backend.locations.live_feed import Ending, Feed, serve
from backend.locations.sse import StreamTransport
from backend.locations.sse_format import (
    KEEP_ALIVE,
    Cursor,
    Encoder,
    frame,
    message_type,
    parse_cursor,
)
from backend.realtime.memory import MemoryBroker


def order_event(event_id: int, order_id: int = 7) -> bytes:
    return orjson.dumps({"type": "order_event", "event_id": event_id, "order_id": order_id})


def driver_event(event_id: int) -> bytes:
    return orjson.dumps({"type": "driver_event", "event_id": event_id, "driver_id": 3})


def parse(raw: bytes) -> dict[str, str]:
    """The fields of one event, as a browser's EventSource reads them."""
    assert raw.endswith(b"\n\n")
    fields: dict[str, str] = {}
    for line in raw.decode().strip("\n").split("\n"):
        name, _, value = line.partition(": ")
        fields[name] = fields[name] + "\n" + value if name in fields else value
    return fields


def test_each_message_is_one_event_named_by_its_type() -> None:
    position = b'{"type":"driver_position","order_id":7,"position":null}'
    assert parse(frame("driver_position", position)) == {
        "event": "driver_position",
        "data": position.decode(),
    }
    assert message_type(position) == "driver_position"
    assert message_type(b'{"order_id":1,"type":"eta"}') == "eta"  # type not first
    assert message_type(b"not json") == "message"


def test_stored_events_are_numbered_and_positions_are_not() -> None:
    encoder = Encoder()
    assert parse(encoder.encode(order_event(41)) or b"")["id"] == "41"
    assert "id" not in parse(encoder.encode(b'{"type":"positions","positions":[]}') or b"")
    assert parse(encoder.encode(order_event(45)) or b"")["id"] == "45"


def test_the_fleet_cursor_counts_both_logs() -> None:
    encoder = Encoder()
    encoder.cursor = Cursor(10, 4)
    assert parse(encoder.encode(order_event(12)) or b"")["id"] == "12.4"
    assert parse(encoder.encode(driver_event(5)) or b"")["id"] == "12.5"
    assert parse(encoder.encode(order_event(11)) or b"")["id"] == "12.5"  # never goes back
    assert parse_cursor("12.5") == Cursor(12, 5)


def test_what_the_client_has_is_not_sent_again() -> None:
    encoder = Encoder(resumed_from=Cursor(20, 3))
    encoder.cursor = Cursor(20, 3)
    replayed = encoder.replaying([order_event(21), order_event(23), driver_event(4)])
    sent = [encoder.encode(m) for m in replayed]
    assert all(sent)
    assert encoder.encode(order_event(21)) is None  # the broker's copy of a replayed one
    assert encoder.encode(driver_event(4)) is None
    assert encoder.encode(order_event(19)) is None  # before Last-Event-ID
    assert encoder.encode(order_event(22)) is not None  # committed after the replay read
    assert encoder.encode(order_event(22)) is None
    assert encoder.encode(order_event(24)) is not None


@given(st.integers(0, 10**15), st.one_of(st.none(), st.integers(0, 10**15)))
def test_cursors_read_back_as_written(order: int, driver: int | None) -> None:
    cursor = Cursor(order, driver)
    assert parse_cursor(cursor.text()) == cursor


def test_other_last_event_ids_mean_no_resume() -> None:
    for text in (None, "", "abc", "1.2.3", "-1", "1e5", "9" * 40):
        assert parse_cursor(text) is None


class FakeClient:
    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.gone = asyncio.Event()

    async def receive(self) -> Message:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    def bodies(self) -> list[bytes]:
        return [m["body"] for m in self.sent if m["type"] == "http.response.body"]


def streaming(client: FakeClient, lasts_s: float = 3600) -> asyncio.Task[None]:
    state: Any = SimpleNamespace(hub=Hub(MemoryBroker()))
    feed = Feed(
        {"order:1": Kind.ORDER},
        [b'{"type":"hello"}'],
        Ending(time.time() + lasts_s, 4410, "expired"),
    )
    transport = StreamTransport(client.receive, client.send, Encoder())
    transport.keep_alive_s = 0.1

    async def run() -> None:
        await serve(state, transport, feed)
        await transport.end()

    return asyncio.create_task(run())


async def test_a_quiet_stream_sends_keep_alive_comments_and_ends_when_the_client_goes() -> None:
    client = FakeClient()
    task = streaming(client)
    await asyncio.sleep(0.35)
    bodies = client.bodies()
    assert bodies[0].startswith(b"retry: ")
    assert b"event: hello" in bodies[0]
    assert bodies[1:].count(KEEP_ALIVE) >= 2
    client.gone.set()
    await asyncio.wait_for(task, 2)
    assert client.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_an_expired_stream_says_why_then_ends() -> None:
    client = FakeClient()
    await asyncio.wait_for(streaming(client, lasts_s=0.2), 2)
    closed = parse(client.bodies()[-2])
    assert closed["event"] == "closed"
    assert orjson.loads(closed["data"]) == {"type": "closed", "code": 4410, "reason": "expired"}
    assert client.sent[-1]["more_body"] is False
