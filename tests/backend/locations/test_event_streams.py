"""Server-Sent Events over a real socket: the tracking and fleet streams carry what the
sockets carry, resume from ``Last-Event-ID`` with each missed event exactly once, refuse
what the sockets refuse, and end when the client goes or the credential expires."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from playwright.async_api import async_playwright
from sqlmodel import select

from backend.auth.tokens import issue
from backend.config import Settings
from backend.db import create_engine, session_scope
from backend.models import TrackingLink
from tests.backend.locations.test_fanout_sockets import (
    RAW,
    access_token,
    metres,
    routed_orders,
    send_fix,
    stranger_token,
    transition,
)
from tests.backend.locations.test_socket_expiry import LIFETIME_S, short_token
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import require_tool
from tests.factories import Org


@dataclass
class Event:
    kind: str
    data: dict[str, Any]
    id: str | None


class Stream:
    """One open event stream, read event by event."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self, within_s: float) -> Event:
        return await asyncio.wait_for(self._next(), within_s)

    async def _next(self) -> Event:
        fields: dict[str, str] = {}
        data: list[str] = []
        async for line in self._lines:
            if line == "":
                if data:
                    return Event(
                        fields.get("event", "message"),
                        orjson.loads("\n".join(data)),
                        fields.get("id"),
                    )
                fields.clear()
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            else:
                fields[name] = value
        raise EOFError("the stream ended")

    async def until(self, kind: str, within_s: float, match: Any = None) -> Event:
        deadline = time.monotonic() + within_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind} event within {within_s} s")
            event = await self.next(left)
            if event.kind == kind and (match is None or match(event.data)):
                return event

    async def during(self, seconds: float) -> list[Event]:
        """Every event that arrives within ``seconds``."""
        seen: list[Event] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                seen.append(await self.next(left))
            except TimeoutError:
                break
        return seen


@asynccontextmanager
async def stream(
    base_url: str, path: str, token: str | None = None, last_event_id: str | None = None
) -> AsyncIterator[Stream]:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=10) as client,
        client.stream("GET", path, headers=headers) as response,
    ):
        assert response.status_code == 200, await response.aread()
        yield Stream(response)


async def answer(base_url: str, path: str, token: str | None = None) -> tuple[int, str]:
    """A stream's status, and its error message if refused."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=10) as client,
        client.stream("GET", path, headers=headers) as response,
    ):
        if response.status_code < 400:
            return response.status_code, ""
        message = orjson.loads(await response.aread())["error"]["message"]
        assert message
        return response.status_code, message


async def status_of(base_url: str, path: str, token: str | None = None) -> int:
    return (await answer(base_url, path, token))[0]


def fleet_path(token: str) -> str:
    """The fleet stream as a browser's EventSource opens it: the token in the query."""
    return f"/api/v1/fleet/events?token={token}"


async def change_instructions(base_url: str, token: str, text: str) -> None:
    """The customer changes the instructions: one ``updated`` event on the order."""
    async with httpx.AsyncClient(base_url=base_url) as customer:
        response = await customer.put(
            f"/api/v1/track/{token}/instructions", json={"option": "gate_code", "text": text}
        )
    assert response.status_code == 200, response.text


async def test_the_tracking_stream_carries_what_the_socket_does(base_url: str, org: Org) -> None:
    orders, tokens = await routed_orders(org, 1)
    async with stream(base_url, f"/api/v1/track/{tokens[0]}/events") as events:
        headers = events.response.headers
        assert headers["content-type"].startswith("text/event-stream")
        assert headers["cache-control"] == "no-cache"
        assert headers["x-accel-buffering"] == "no"
        hello = await events.next(5)
        assert (hello.kind, hello.data) == ("hello", {"type": "hello", "order_id": orders[0]["id"]})
        snapshot = await events.next(5)
        assert snapshot.kind == "snapshot"
        assert snapshot.data["view"]["driver_position"] is None

        await send_fix(org.driver, *RAW, age_s=120)
        seen = await events.until("driver_position", 3, lambda d: d["position"] is not None)
        approx = (seen.data["position"]["lat"], seen.data["position"]["lng"])
        assert approx != RAW
        assert 0 < metres(approx, RAW) < 100
        assert seen.id is None  # positions are replaced by the next ones, not replayed

        await transition(org.driver, orders[0]["id"], "en_route")
        event = await events.until("order_event", 3)
        assert event.data["to_status"] == "en_route"
        assert event.id == str(event.data["event_id"])


async def test_the_fleet_stream_carries_what_the_socket_does(
    settings: Settings, base_url: str, org: Org
) -> None:
    orders, _ = await routed_orders(org, 1)
    token = await access_token(org.dispatcher)
    other = await stranger_token(settings, base_url)
    async with (
        stream(base_url, "/api/v1/fleet/events", token) as fleet,
        stream(base_url, "/api/v1/fleet/events", other) as stranger,
    ):
        assert (await fleet.next(5)).data == {"type": "hello", "org_id": org.id}
        assert (await stranger.next(5)).kind == "hello"
        await send_fix(org.driver, *RAW, age_s=60)
        frame = await fleet.until(
            "positions", 2, lambda d: d["positions"][0]["driver_id"] == org.driver_ids[0]
        )
        assert (frame.data["positions"][0]["lat"], frame.data["positions"][0]["lng"]) == RAW
        assert frame.id is None
        await transition(org.driver, orders[0]["id"], "en_route")
        event = await fleet.until("order_event", 3)
        assert event.data["order_id"] == orders[0]["id"]
        assert event.id is not None
        order_part, _, driver_part = event.id.partition(".")
        assert int(order_part) == event.data["event_id"]
        assert driver_part.isdigit()
        assert [e.kind for e in await stranger.during(0.5)] == []  # another organisation


async def _received(events: Stream, kind: str, seconds: float) -> list[Event]:
    return [e for e in await events.during(seconds) if e.kind == kind]


async def test_last_event_id_replays_the_missed_events_once_then_live(
    base_url: str, org: Org
) -> None:
    _, tokens = await routed_orders(org, 1)
    token = tokens[0]
    path = f"/api/v1/track/{token}/events"
    async with stream(base_url, path) as events:
        await events.until("snapshot", 5)
        await change_instructions(base_url, token, "1111")
        last = await events.until("order_event", 3)
    assert last.id is not None
    for code in ("2222", "3333", "4444"):  # while the page is away
        await change_instructions(base_url, token, code)

    async with stream(base_url, path, last_event_id=last.id) as events:
        assert [(await events.next(5)).kind for _ in range(2)] == ["hello", "snapshot"]
        missed = [await events.until("order_event", 3) for _ in range(3)]
        ids = [e.data["event_id"] for e in missed]
        assert ids == sorted(ids)
        assert ids[0] > int(last.id)
        assert [e.id for e in missed] == [str(i) for i in ids]
        # Events committed while it catches up come once, whether replayed or live.
        writes = asyncio.gather(*(change_instructions(base_url, token, f"5{n}") for n in range(4)))
        await writes
        more = await _received(events, "order_event", 1.5)
        assert len(more) == 4
        every = ids + [e.data["event_id"] for e in more]
        assert len(set(every)) == len(every) == 7

    # A stream that resumes during a burst of writes: each event exactly once.
    burst = asyncio.gather(*(change_instructions(base_url, token, f"6{n}") for n in range(6)))
    async with stream(base_url, path, last_event_id=str(every[-1])) as events:
        await burst
        got = [e.data["event_id"] for e in await _received(events, "order_event", 1.5)]
    assert len(got) == len(set(got)) == 6
    assert min(got) > every[-1]


async def test_the_fleet_stream_resumes_order_and_driver_events(base_url: str, org: Org) -> None:
    orders, tokens = await routed_orders(org, 1)
    token = await access_token(org.dispatcher)
    async with stream(base_url, "/api/v1/fleet/events", token) as fleet:
        await fleet.until("hello", 5)
        await change_instructions(base_url, tokens[0], "1111")
        last = await fleet.until("order_event", 3)
    assert last.id is not None
    await transition(org.driver, orders[0]["id"], "en_route")
    await change_instructions(base_url, tokens[0], "2222")  # a request to the dispatcher
    async with stream(base_url, "/api/v1/fleet/events", token, last_event_id=last.id) as fleet:
        replayed = await _received(fleet, "order_event", 1.5)
    assert [e.data["order_id"] for e in replayed] == [orders[0]["id"]] * 2
    assert replayed[0].data["to_status"] == "en_route"
    assert replayed[1].data["kind"] == "customer_request"
    assert replayed[-1].id is not None
    assert int(replayed[-1].id.partition(".")[0]) == replayed[-1].data["event_id"]


async def test_wrong_tokens_and_roles_are_refused_like_the_sockets(base_url: str, org: Org) -> None:
    _, tokens = await routed_orders(org, 1)
    assert await status_of(base_url, "/api/v1/track/not-a-token/events") == 404
    assert await status_of(base_url, "/api/v1/fleet/events") == 401
    assert await status_of(base_url, "/api/v1/fleet/events", "nonsense") == 401
    assert await status_of(base_url, "/api/v1/fleet/events", tokens[0]) == 401  # a customer
    driver = await access_token(org.driver)
    assert await status_of(base_url, "/api/v1/fleet/events", driver) == 403


async def test_the_fleet_stream_takes_the_token_in_the_query_as_the_socket_does(
    settings: Settings, base_url: str, org: Org
) -> None:
    dispatcher = await access_token(org.dispatcher)
    other = await stranger_token(settings, base_url)
    async with (
        stream(base_url, fleet_path(dispatcher)) as fleet,
        stream(base_url, fleet_path(other)) as stranger,
    ):
        assert (await fleet.next(5)).data == {"type": "hello", "org_id": org.id}
        theirs = await stranger.next(5)
        assert theirs.kind == "hello"
        assert theirs.data["org_id"] != org.id  # another organisation streams its own
        await send_fix(org.driver, *RAW, age_s=60)
        frame = await fleet.until(
            "positions", 2, lambda d: d["positions"][0]["driver_id"] == org.driver_ids[0]
        )
        assert (frame.data["positions"][0]["lat"], frame.data["positions"][0]["lng"]) == RAW
        assert [e.kind for e in await stranger.during(0.5)] == []
    assert await answer(base_url, fleet_path(await access_token(org.admin))) == (200, "")


async def test_a_query_token_is_checked_like_the_header(
    settings: Settings, base_url: str, org: Org
) -> None:
    _, links = await routed_orders(org, 1)
    dispatcher = await access_token(org.dispatcher)
    me = (await org.dispatcher.get("/api/v1/auth/me")).json()["id"]
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    refused = {
        "nonsense": "not valid",
        links[0]: "not valid",  # a customer's tracking token
        issue(settings.secret_key, me, "access", 60, version=0, now=an_hour_ago): "expired",
        issue("another-deployment-secret-0123456789abcdef", me, "access", 600, 0): "not valid",
        issue(settings.secret_key, me, "refresh", 600, version=0): "expected a access token",
        f"{dispatcher[:-4]}AAAA": "not valid",  # tampered with
    }
    for token, says in refused.items():
        status, message = await answer(base_url, fleet_path(token))
        assert status == 401, (token, message)
        assert says in message, (token, message)
    status, message = await answer(base_url, fleet_path(await access_token(org.driver)))
    assert status == 403
    assert "admin or dispatcher" in message
    status, message = await answer(base_url, "/api/v1/fleet/events")
    assert status == 401
    assert "?token=<access token>" in message  # says how a browser signs in
    # Header and query at once: refused whichever is valid, not silently one of them.
    for query, header in ((dispatcher, dispatcher), ("nonsense", dispatcher), (dispatcher, "x")):
        status, message = await answer(base_url, fleet_path(query), header)
        assert status == 400
        assert "not both" in message


async def test_a_browsers_event_source_follows_the_fleet(base_url: str, org: Org) -> None:
    """Chromium's own EventSource, on a page of the backend's origin under its policy."""
    require_tool(CHROMIUM, "Chromium")
    token = await access_token(org.dispatcher)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(f"{base_url}/docs", wait_until="domcontentloaded")
            hello = await page.evaluate(_OPEN_FLEET, token)
            assert hello == {"type": "hello", "org_id": org.id}
            await send_fix(org.driver, *RAW, age_s=60)
            seen = await page.wait_for_function(
                "driver => window.fleet.positions.flatMap(f => f.positions)"
                ".find(p => p.driver_id === driver) || null",
                arg=org.driver_ids[0],
                timeout=5_000,
            )
            position = await seen.json_value()
            assert (position["lat"], position["lng"]) == RAW
            # A refused token fails the EventSource for good (no endless reconnecting).
            assert await page.evaluate(_OPEN_FLEET_REFUSED, "nonsense") == "closed"
        finally:
            await browser.close()


_OPEN_FLEET = """token => new Promise((resolve, reject) => {
    const source = new EventSource(`/api/v1/fleet/events?token=${encodeURIComponent(token)}`);
    window.fleet = {source, positions: []};
    source.addEventListener("hello", event => resolve(JSON.parse(event.data)));
    source.addEventListener("positions", event => {
        window.fleet.positions.push(JSON.parse(event.data));
    });
    source.onerror = () => reject(new Error(`the stream failed (${source.readyState})`));
})"""
_OPEN_FLEET_REFUSED = """token => new Promise(resolve => {
    const source = new EventSource(`/api/v1/fleet/events?token=${encodeURIComponent(token)}`);
    source.onopen = () => resolve("open");
    source.onerror = () => resolve(source.readyState === EventSource.CLOSED ? "closed" : "retry");
})"""


async def _expire_soon(settings: Settings, token: str) -> None:
    engine = create_engine(settings.resolved_database_url)
    try:
        async with session_scope(engine) as session:
            link = (
                await session.exec(select(TrackingLink).where(TrackingLink.token == token))
            ).one()
            link.expires_at = datetime.now(UTC) + timedelta(seconds=LIFETIME_S)
            session.add(link)
    finally:
        await engine.dispose()


async def test_the_streams_end_when_their_credential_expires(
    settings: Settings, base_url: str, org: Org
) -> None:
    _, tokens = await routed_orders(org, 1)
    await _expire_soon(settings, tokens[0])
    path = f"/api/v1/track/{tokens[0]}/events"
    short = await short_token(settings, org.dispatcher)
    async with (
        stream(base_url, path) as customer,
        stream(base_url, "/api/v1/fleet/events", short) as fleet,
        stream(base_url, fleet_path(short)) as browser,  # the token in the query
    ):
        for events, code in ((customer, 4410), (fleet, 4401), (browser, 4401)):
            closed = await events.until("closed", LIFETIME_S + 3)
            assert closed.data["code"] == code
            assert "expired" in closed.data["reason"]
            try:
                await events.next(2)
            except EOFError:
                pass  # and the stream ends
            else:
                raise AssertionError("the stream went on after closed")
    assert await status_of(base_url, path) == 410  # a new stream is refused at once
    status, message = await answer(base_url, fleet_path(short))
    assert status == 401
    assert "expired" in message


async def _customer_streams(base_url: str) -> int:
    async with httpx.AsyncClient(base_url=base_url) as client:
        text = (await client.get("/metrics")).text
    line = next(
        x for x in text.splitlines() if x.startswith('lastmile_sockets{audience="customer"}')
    )
    return int(float(line.rsplit(" ", 1)[1]))


async def test_a_client_that_leaves_ends_its_stream(base_url: str, org: Org) -> None:
    _, tokens = await routed_orders(org, 1)
    before = await _customer_streams(base_url)
    async with stream(base_url, f"/api/v1/track/{tokens[0]}/events") as events:
        await events.until("snapshot", 5)
        assert await _customer_streams(base_url) == before + 1
    deadline = time.monotonic() + 5
    while await _customer_streams(base_url) != before:
        assert time.monotonic() < deadline, "the stream stayed subscribed after its client left"
        await asyncio.sleep(0.05)
