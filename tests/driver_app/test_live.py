"""Live updates in the driver app: what customers and dispatch change reaches the driver's
stops without anybody reloading, over a real server and socket; and the socket's
reconnecting, token refresh and reload coalescing against a fake socket."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack, asynccontextmanager
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx

from app_kit.live_socket import Socket, SocketClosedError
from backend.config import Settings
from driver_app.logic.changes import Change
from driver_app.state.app import DriverAppState
from driver_app.state.live import LiveUpdates
from shared.api_client import ApiClient
from shared.schemas.auth import TokenPair
from tests.backend.locations.test_socket_expiry import LIFETIME_S, short_token
from tests.backend.test_self_service import link_for
from tests.conftest import _new_org, make_settings
from tests.driver_app.routes import assigned_orders, dropoff_address, plan_route
from tests.driver_app.test_state import DAY, MORNING
from tests.factories import PASSWORD, Org
from tests.live_server import free_port, run_server


async def until(condition: Callable[[], bool], within_s: float, what: str) -> None:
    """Wait for ``condition`` (polled), failing after ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {within_s} s: {what}"
        await asyncio.sleep(0.02)


def live_app(client: ApiClient) -> DriverAppState:
    """The driver app on the test day (close it with ``aclose``)."""
    return DriverAppState(client, now=lambda: MORNING, tz=UTC)


def addresses(app: DriverAppState) -> list[str]:
    return [line.stop.address for line in app.today.lines]


def instructions_of(app: DriverAppState, order_id: int) -> str | None:
    return next(
        (
            line.order.instructions
            for line in app.today.lines
            if line.order is not None and line.order.id == order_id
        ),
        None,
    )


def dropoff_id(order: dict[str, Any]) -> int:
    stop_id: int = next(s["id"] for s in order["stops"] if s["kind"] == "dropoff")
    return stop_id


async def sign_in_live(app: DriverAppState, org: Org) -> None:
    """Sign in as the first driver; return once the socket is up and the day loaded."""
    assert await app.login(org.emails["driver"], PASSWORD)
    await until(lambda: app.live.connected and not app.today.loading, 10, "connected")


@asynccontextmanager
async def signed_in_live(base_url: str, org: Org) -> AsyncIterator[DriverAppState]:
    async with ApiClient(base_url) as client:
        app = live_app(client)
        try:
            await sign_in_live(app, org)
            yield app
        finally:
            await app.aclose()


# --- against the real server ------------------------------------------------------------


async def test_a_customers_new_instructions_and_window_reach_the_drivers_stops(
    org: Org, base_url: str
) -> None:
    orders = await assigned_orders(org.dispatcher, org.driver_ids[0], 2)
    await plan_route(org.dispatcher, org.driver_ids[0], DAY, orders)
    token = await link_for(org, orders[1]["id"])
    async with signed_in_live(base_url, org) as app, httpx.AsyncClient(base_url=base_url) as web:
        assert app.today.changed == {}
        response = await web.put(
            f"/api/v1/track/{token}/instructions", json={"option": "gate_code", "text": "4821"}
        )
        assert response.json()["outcome"] == "applied", response.text

        await until(
            lambda: instructions_of(app, orders[1]["id"]) == "Gate code: 4821", 3, "instructions"
        )
        assert app.today.changed == {dropoff_id(orders[1]): frozenset({Change.INSTRUCTIONS})}
        assert app.today.next_stop is not None
        assert app.today.next_stop.stop.address == dropoff_address(orders[0])

        # A new window takes the stop off the route (dispatch plans it again): it leaves
        # the driver's list, with a notice saying so.
        slot = (await web.get(f"/api/v1/track/{token}/slots")).json()[0]
        assert (await web.put(f"/api/v1/track/{token}/window", json=slot)).status_code == 200
        await until(lambda: len(app.today.lines) == 1, 3, "the stop left the route")
        assert app.today.notices == [f"Taken off your route: {dropoff_address(orders[1])}."]

        app.today.acknowledge_changes()
        assert (app.today.changed, app.today.notices) == ({}, [])


async def test_a_pushed_reorder_never_moves_the_stop_the_driver_is_heading_to(
    org: Org, base_url: str
) -> None:
    first, second, third = await assigned_orders(org.dispatcher, org.driver_ids[0], 3)
    route = await plan_route(org.dispatcher, org.driver_ids[0], DAY, [first, second, third])
    async with signed_in_live(base_url, org) as app:
        assert app.today.next_stop is not None
        assert app.today.next_stop.stop.address == dropoff_address(first)

        reversed_stops = [{"stop_id": dropoff_id(o)} for o in (third, second, first)]
        response = await org.dispatcher.patch(
            f"/api/v1/routes/{route['id']}", json={"stops": reversed_stops}
        )
        assert response.status_code == 200, response.text

        await until(lambda: bool(app.today.notices), 3, "a notice about the new order")
        assert addresses(app) == [dropoff_address(o) for o in (first, third, second)]
        assert app.today.next_index == 0
        assert dropoff_address(first) in app.today.notices[0]
        assert dropoff_id(first) not in app.today.changed

        # Once it is delivered, dispatch's order applies.
        for status in ("en_route", "delivered"):
            response = await org.driver.post(
                f"/api/v1/orders/{first['id']}/transitions", json={"to": status}
            )
            assert response.status_code == 200, response.text
        await until(
            lambda: (
                app.today.next_stop is not None
                and app.today.next_stop.stop.address == dropoff_address(third)
            ),
            3,
            "dispatch's first stop is next",
        )
        assert addresses(app) == [dropoff_address(o) for o in (third, second, first)]


async def test_it_reconnects_after_the_server_drops_the_socket(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    port = free_port()
    with ExitStack() as first_server:
        url = first_server.enter_context(run_server(settings, port))
        async with _new_org(settings, url) as org, ApiClient(url) as client:
            orders = await assigned_orders(org.dispatcher, org.driver_ids[0], 1)
            await plan_route(org.dispatcher, org.driver_ids[0], DAY, orders)
            token = await link_for(org, orders[0]["id"])
            app = live_app(client)
            try:
                await sign_in_live(app, org)
                first_server.close()  # the server stops: every socket drops
                await until(lambda: app.live.retrying, 15, "the app saw the socket drop")

                with run_server(settings, port):
                    await until(lambda: app.live.connections == 2, 15, "reconnected")
                    async with httpx.AsyncClient(base_url=url) as web:
                        response = await web.put(
                            f"/api/v1/track/{token}/instructions",
                            json={"option": "note", "text": "Ring twice"},
                        )
                        assert response.status_code == 200, response.text
                    await until(
                        lambda: instructions_of(app, orders[0]["id"]) == "Ring twice",
                        3,
                        "the update after reconnecting",
                    )
                    assert app.session.signed_in
            finally:
                await app.aclose()


async def test_an_expired_token_is_refreshed_and_the_updates_keep_coming(
    settings: Settings, org: Org, base_url: str
) -> None:
    orders = await assigned_orders(org.dispatcher, org.driver_ids[0], 1)
    await plan_route(org.dispatcher, org.driver_ids[0], DAY, orders)
    token = await link_for(org, orders[0]["id"])
    async with ApiClient(base_url) as client, httpx.AsyncClient(base_url=base_url) as web:
        app = live_app(client)
        try:
            await sign_in_live(app, org)
            app.live.stop()  # reopen it with a token that expires in LIFETIME_S
            assert client.tokens is not None
            short = await short_token(settings, org.driver)
            client.tokens = client.tokens.model_copy(update={"access_token": short})
            app.live.start()
            await until(lambda: app.live.connections == 2, 5, "open with the short token")

            # The server closes the socket (4401) when the token expires; the app refreshes
            # it and reconnects.
            await until(lambda: app.live.connections == 3, LIFETIME_S + 5, "reconnected")
            assert client.tokens.access_token != short
            response = await web.put(
                f"/api/v1/track/{token}/instructions", json={"option": "note", "text": "Bell 2"}
            )
            assert response.status_code == 200, response.text
            await until(lambda: instructions_of(app, orders[0]["id"]) == "Bell 2", 3, "update")
            assert app.session.signed_in
        finally:
            await app.aclose()


# --- against a fake socket --------------------------------------------------------------

TOKENS = TokenPair(access_token="access-1", refresh_token="refresh-1", expires_in=900)


class FakeSocket:
    """A socket that says ``ready`` to the auth message, then plays ``frames``; a
    :class:`SocketClosedError` in them closes it (the fake stays open after the last)."""

    def __init__(self, *frames: dict[str, Any] | SocketClosedError) -> None:
        self.sent: list[dict[str, Any]] = []
        self._frames: asyncio.Queue[dict[str, Any] | SocketClosedError] = asyncio.Queue()
        for frame in ({"type": "ready", "driver_id": 1}, *frames):
            self._frames.put_nowait(frame)

    def push(self, frame: dict[str, Any] | SocketClosedError) -> None:
        self._frames.put_nowait(frame)

    @property
    def unread(self) -> int:
        return self._frames.qsize()

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text))

    async def recv(self) -> str:
        frame = await self._frames.get()
        if isinstance(frame, SocketClosedError):
            raise frame
        return json.dumps(frame)


class FakeServer:
    """The socket factory: each connection takes the next scripted outcome, either a
    socket or a refusal to open (``None``: the server is down)."""

    def __init__(self, *outcomes: FakeSocket | None) -> None:
        self.outcomes = list(outcomes)
        self.urls: list[str] = []

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[Socket]:
        self.urls.append(url)
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is None:
            raise SocketClosedError(None, "connection refused")
        yield outcome


class Pauses:
    """The backoff's clock: records each pause and returns at once."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        await asyncio.sleep(0)


class Reloads:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1


def refresh_answers(status: int) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/auth/refresh"
        if status != 200:
            return httpx.Response(status, json={"error": {"code": "x", "message": "refused"}})
        fresh = TOKENS.model_copy(update={"access_token": "access-2"})
        return httpx.Response(200, json=fresh.model_dump())

    return httpx.MockTransport(answer)


@asynccontextmanager
async def live_updates(
    server: FakeServer, *, refresh_status: int = 200, on_expired: Callable[[], None] = lambda: None
) -> AsyncIterator[tuple[LiveUpdates, Pauses, Reloads, ApiClient]]:
    async with ApiClient(
        "https://lastmile.example", transport=refresh_answers(refresh_status)
    ) as c:
        c.tokens = TOKENS
        pauses, reloads = Pauses(), Reloads()
        live = LiveUpdates(
            c,
            on_update=reloads,
            on_expired=on_expired,
            connect=server.connect,
            sleep=pauses,
            jitter=lambda: 1.0,  # the whole pause, no random part
        )
        live.start()
        try:
            yield live, pauses, reloads, c
        finally:
            await live.aclose()


async def test_the_pause_doubles_while_the_server_is_away_and_resets_once_connected() -> None:
    down = None
    restarted = FakeSocket(SocketClosedError(1012, "service restart"))
    last = FakeSocket()
    server = FakeServer(down, down, down, restarted, down, last)
    async with live_updates(server) as (live, pauses, reloads, _):
        await until(lambda: live.connections == 2, 2, "connected twice")
        assert pauses.seconds == [0.5, 1.0, 2.0, 0.5, 1.0]
        assert server.urls[0] == "wss://lastmile.example/api/v1/drivers/me/ws"
        assert last.sent == [{"type": "auth", "token": "access-1"}]
        assert live.connected
        await until(lambda: reloads.count == 2, 2, "a reload per connection")


async def test_the_pause_never_exceeds_its_ceiling() -> None:
    server = FakeServer(*[None] * 9, FakeSocket())
    async with live_updates(server) as (live, pauses, _, _):
        await until(lambda: live.connected, 2, "connected")
    assert pauses.seconds == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


async def test_an_expired_token_is_refreshed_then_sent_on_the_next_socket() -> None:
    again = FakeSocket()
    server = FakeServer(FakeSocket(SocketClosedError(4401, "the access token expired")), again)
    async with live_updates(server) as (live, _, _, client):
        await until(lambda: live.connections == 2, 2, "reconnected")
        assert again.sent == [{"type": "auth", "token": "access-2"}]
        assert client.tokens is not None
        assert client.tokens.access_token == "access-2"


async def test_a_refused_refresh_ends_the_session_and_the_socket() -> None:
    expired: list[bool] = []
    server = FakeServer(FakeSocket(SocketClosedError(4401, "expired")), FakeSocket())
    async with live_updates(
        server, refresh_status=401, on_expired=lambda: expired.append(True)
    ) as (live, pauses, _, _):
        await until(lambda: not live.running, 2, "stopped")
        assert expired == [True]
        assert pauses.seconds == []
        assert len(server.urls) == 1


async def test_not_a_driver_stops_without_retrying() -> None:
    server = FakeServer(FakeSocket(SocketClosedError(4403, "not a driver")), FakeSocket())
    async with live_updates(server) as (live, pauses, _, _):
        await until(lambda: not live.running, 2, "stopped")
        assert (pauses.seconds, len(server.urls), live.retrying) == ([], 1, False)


async def test_updates_during_a_reload_make_one_more_reload_not_one_each() -> None:
    socket = FakeSocket()
    release = asyncio.Event()
    calls = 0

    async def slow_reload() -> None:
        nonlocal calls
        calls += 1
        await release.wait()

    async with ApiClient("http://lastmile.example") as client:
        client.tokens = TOKENS
        live = LiveUpdates(
            client,
            on_update=slow_reload,
            on_expired=lambda: None,
            connect=FakeServer(socket).connect,
        )
        live.start()
        try:
            await until(lambda: calls == 1, 2, "the reload after ready")
            for _ in range(5):
                socket.push({"type": "update", "update": {"type": "order_changed"}})
            await until(lambda: socket.unread == 0, 2, "updates read")
            release.set()
            await until(lambda: calls == 2, 2, "one more reload")
            for _ in range(10):  # the loop's turns in which a third would start
                await asyncio.sleep(0)
            assert calls == 2
        finally:
            await live.aclose()
