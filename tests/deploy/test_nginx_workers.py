"""Two backend processes behind the shipped nginx config (tests/nginx_server.py), one
database, one real Redis: what a dispatcher, a customer and a driver notice when work is
spread over processes and one of them is killed with SIGKILL.

The clients are the real ones: the dispatcher app's state classes (fleet socket and
exceptions inbox, with their reconnect loops) and the customer tracking page in Chromium.
"""

import asyncio
import re
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets
from playwright.async_api import WebSocket, async_playwright

from backend.config import Settings
from dispatcher_app.logic.exceptions import exception_line
from dispatcher_app.state.app import DispatcherAppState
from shared.api_client import ApiClient
from tests.backend.locations.test_fanout_sockets import access_token
from tests.backend.pod.test_pod_api import en_route_order
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import _new_org, database_env, make_settings, require_tool
from tests.customer_web.pages import HOME, move, on_route, south_of
from tests.factories import PASSWORD, Org, login, order_payload
from tests.live_server import free_port, server_process
from tests.nginx_server import NGINX, UPSTREAM_HEADER, check_full_config, run_nginx

SOCKETS = re.compile(r'^lastmile_sockets\{audience="(\w+)"\} (\d+)', re.MULTILINE)


@dataclass
class Cluster:
    settings: Settings
    url: str  # nginx
    workers: dict[str, subprocess.Popen[bytes]]  # "127.0.0.1:port" -> its process

    def base(self, worker: str) -> str:
        return f"http://{worker}"

    def other(self, worker: str) -> str:
        return next(w for w in self.workers if w != worker)

    def kill(self, worker: str) -> None:
        process = self.workers[worker]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
def cluster(tmp_path: Path, clean_redis: str) -> Iterator[Cluster]:
    require_tool(NGINX, "nginx (Debian package nginx)")
    ports = [free_port(), free_port()]
    # Leaving a stop unserved is reported at once (not after the usual 2 minutes' grace).
    env = {"REDIS_URL": clean_redis, "LASTMILE_LEFT_STOP_GRACE_S": "0", **database_env(tmp_path)}
    with (
        server_process(tmp_path, ports[0], **env) as first,
        server_process(tmp_path, ports[1], **env) as second,
        run_nginx(tmp_path / "nginx", ports) as url,
    ):
        workers = {f"127.0.0.1:{ports[0]}": first, f"127.0.0.1:{ports[1]}": second}
        yield Cluster(make_settings(tmp_path, redis_url=clean_redis), url, workers)


@pytest.fixture
async def org(cluster: Cluster) -> AsyncIterator[Org]:
    """A fresh organisation, each role signed in through nginx; their clients (and any
    added to ``org.clients``) are closed even when the test fails (one left open is a
    ResourceWarning in whichever later test the collector finds it)."""
    async with _new_org(cluster.settings, cluster.url) as fresh:
        yield fresh


async def sockets_on(cluster: Cluster, worker: str) -> dict[str, int]:
    """The live sockets a worker holds, by audience (its own /metrics, not through nginx)."""
    async with httpx.AsyncClient(base_url=cluster.base(worker), timeout=5) as client:
        text = (await client.get("/metrics")).text
    return {audience: int(n) for audience, n in SOCKETS.findall(text)}


async def eventually(check: Callable[[], Awaitable[bool]], within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not await check():
        assert time.monotonic() < deadline, f"not within {within_s} s: {what}"
        await asyncio.sleep(0.05)


async def holder(cluster: Cluster, audience: str) -> str:
    """The worker that holds the one socket of ``audience``."""
    found: list[str] = []

    async def one() -> bool:
        found[:] = [w for w in cluster.workers if (await sockets_on(cluster, w)).get(audience)]
        return len(found) == 1

    await eventually(one, 10, f"one {audience} socket on one worker")
    return found[0]


@asynccontextmanager
async def dispatcher_app(cluster: Cluster, org: Org) -> AsyncIterator[DispatcherAppState]:
    async with ApiClient(cluster.url) as client:
        app = DispatcherAppState(client, now=lambda: datetime.now(UTC), tz=UTC)
        assert await app.login(org.emails["dispatcher"], PASSWORD)
        try:
            yield app
        finally:
            app.logout()
            await app.fleet.aclose()


async def test_an_exception_raised_on_one_worker_reaches_a_dispatcher_on_the_other(
    cluster: Cluster, org: Org
) -> None:
    async with dispatcher_app(cluster, org) as app:
        await eventually(lambda: _true(app.fleet.connected), 10, "the fleet socket connects")
        assert app.exceptions.count == 0
        there = cluster.other(await holder(cluster, "dispatcher"))
        order_id = await en_route_order(org)
        # The driver's phone reaches the other process (as after a reconnect elsewhere).
        async with await login(cluster.base(there), org.emails["driver"]) as driver:
            response = await driver.post(
                f"/api/v1/orders/{order_id}/failure",
                data={"client_id": uuid.uuid4().hex, "reason": "damaged", "note": "box crushed"},
            )
            assert response.status_code == 201, response.text
        # No reload asked for: the event crosses Redis to the dispatcher's socket, and the
        # inbox reads itself again.
        await eventually(lambda: _true(app.exceptions.count == 1), 10, "the inbox shows it")
        line = exception_line(app.exceptions.items[0], tz=UTC)
        assert (line.title, line.subject.split(" · ")[0]) == (
            "Failed delivery",
            f"Order #{order_id}",
        )
        assert "box crushed" in line.detail


async def app_on(
    stack: AsyncExitStack, cluster: Cluster, org: Org, worker: str, held_there: int
) -> DispatcherAppState:
    """The dispatcher app signed in through nginx, its fleet socket on ``worker`` (which
    holds ``held_there`` other fleet sockets): signed in again if a request of the app was
    still in flight there when the socket opened and nginx sent the socket elsewhere."""
    for _ in range(3):
        attempt = AsyncExitStack()
        app = await attempt.enter_async_context(dispatcher_app(cluster, org))
        await eventually(partial(_connected, app), 10, "the fleet socket connects")
        if (await sockets_on(cluster, worker)).get("dispatcher") == held_there + 1:
            stack.push_async_callback(attempt.aclose)
            return app
        await attempt.aclose()
    raise AssertionError(f"the dispatcher's socket never went to {worker}")


async def _connected(app: DispatcherAppState) -> bool:
    return app.fleet.connected


async def _true(value: bool) -> bool:
    return value


async def ballast(cluster: Cluster, org: Org, busy: str) -> tuple[list[Any], int]:
    """Hold fleet sockets through nginx until the worker other than ``busy`` (which holds
    one socket, the page's) holds more than ``busy``: nginx's ``least_conn`` then sends the
    next socket to ``busy``. Returns the sockets, and how many of them are on ``busy``."""
    held: list[Any] = []
    token = await access_token(org.dispatcher)
    url = cluster.url.replace("http://", "ws://") + f"/api/v1/fleet/ws?token={token}"
    on_busy, elsewhere = 1, 0
    while elsewhere <= on_busy:
        # A request still in flight (the page's tiles, on a loaded box) counts for its worker
        # as well: a socket may go to ``busy`` while it lasts, and the next ones balance out.
        assert len(held) < 30, f"nginx does not spread sockets by least_conn: {on_busy=}"
        if held:
            await asyncio.sleep(0.1)
        # Those on the killed worker cannot close cleanly: no waiting for them at the end.
        socket = await websockets.connect(url, open_timeout=10, close_timeout=0.5)
        assert socket.response is not None
        held.append(socket)
        if socket.response.headers[UPSTREAM_HEADER] == busy:
            on_busy += 1
        else:
            elsewhere += 1
    return held, on_busy - 1


@pytest.mark.browser
async def test_killing_a_worker_loses_no_acknowledged_fix_or_event_and_clients_reconnect(
    cluster: Cluster, org: Org
) -> None:
    require_tool(CHROMIUM, "Chromium")
    route = await on_route(org, [HOME])
    order_id, token = route.orders[0]["id"], route.tokens[0]
    await move(org.driver, order_id, "en_route")
    async with async_playwright() as playwright, AsyncExitStack() as stack:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page()
        sockets: list[WebSocket] = []
        # (socket number, recorded_at) of the driver's positions the page was given: on
        # (re)connecting, in the snapshot of its view; then as the approximate position
        # changes (or every 15 s).
        heard: list[tuple[int, float]] = []

        def opened(ws: WebSocket) -> None:
            number = len(sockets)
            sockets.append(ws)

            def frame(payload: str | bytes) -> None:
                message = orjson.loads(payload)
                if message.get("type") == "snapshot":
                    position = message["view"].get("driver_position")
                else:
                    position = message.get("position")  # a driver_position frame
                if position:
                    at = datetime.fromisoformat(position["recorded_at"]).timestamp()
                    heard.append((number, at))

            ws.on("framereceived", frame)

        page.on("websocket", opened)
        await page.goto(f"{cluster.url}/t/{token}")
        # The map's tiles requested: none of them still counts for a worker in nginx.
        await page.wait_for_load_state("networkidle")
        victim = await holder(cluster, "customer")
        survivor = cluster.other(victim)
        # The dispatcher's socket goes to the same worker as the page's.
        held, held_there = await ballast(cluster, org, victim)
        app = await app_on(stack, cluster, org, victim, held_there)

        # The driver signs in until nginx hashes their fixes to the victim too.
        driver = await _driver_hashed_to(cluster, org, victim)
        acknowledged: list[float] = []
        events: list[int] = []
        stop = asyncio.Event()
        start = south_of(HOME, 1500)
        senders = [
            asyncio.create_task(_drive(driver, start, acknowledged, stop)),
            asyncio.create_task(_create_orders(org.dispatcher, events, stop)),
        ]
        await eventually(lambda: _true(len(acknowledged) >= 10), 20, "fixes acknowledged")
        await eventually(lambda: _true(bool(heard)), 20, "the page shows the driver")
        await eventually(
            lambda: _true(app.fleet.count == 1), 10, "the dispatcher's map shows the driver"
        )
        acked_before, events_before = len(acknowledged), len(events)

        killed_at = time.time()
        cluster.kill(victim)
        await eventually(lambda: _true(sockets[0].is_closed()), 10, "the page's socket drops")
        # Both clients reconnect through nginx to the survivor and keep following the driver.
        await eventually(
            lambda: _true(any(n > 0 and at > killed_at for n, at in heard)),
            10,
            "the page, on a new socket, shows where the driver is since the kill",
        )
        seen = app.fleet.positions[org.driver_ids[0]].lat

        async def dispatcher_back() -> bool:
            return app.fleet.connected and app.fleet.positions[org.driver_ids[0]].lat != seen

        await eventually(dispatcher_back, 10, "the dispatcher's map moves again")
        on_survivor = await sockets_on(cluster, survivor)
        assert on_survivor.get("dispatcher") == len(held) - held_there + 1  # the app's, moved
        await eventually(
            lambda: _true(len(acknowledged) > acked_before + 10), 20, "fixes acknowledged after"
        )
        await eventually(lambda: _true(len(events) > events_before + 3), 20, "orders after")
        stop.set()
        await asyncio.gather(*senders)
        await browser.close()
        for socket in held:
            await socket.close()  # those on the killed worker are closed already

        # Every acknowledged fix is in the history, every acknowledged order in the timeline.
        stored = await _history(org.dispatcher, org.driver_ids[0])
        missing = {round(t, 3) for t in acknowledged} - stored
        assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged fixes lost"
        for created in events:
            timeline = await org.dispatcher.get(f"/api/v1/orders/{created}/events")
            assert timeline.status_code == 200, timeline.text
            assert [e["kind"] for e in timeline.json()][:1] == ["created"], created
        print(
            f"fixes acknowledged {len(acknowledged)} ({acked_before} before the kill), "
            f"orders {len(events)} ({events_before} before); the page's sockets: {len(sockets)}"
        )


async def _driver_hashed_to(cluster: Cluster, org: Org, worker: str) -> httpx.AsyncClient:
    for _ in range(20):
        driver = await login(cluster.url, org.emails["driver"])
        await driver.get("/api/v1/drivers/me")  # signs in (any worker)
        response = await driver.get("/api/v1/drivers/me/locations")  # 405, from the hashed one
        if response.headers.get(UPSTREAM_HEADER) == worker:
            org.clients["driver on that worker"] = driver  # closed with the others
            return driver
        await driver.aclose()
    raise AssertionError(f"no sign-in of 20 was hashed to {worker}")


async def _drive(
    driver: httpx.AsyncClient,
    start: tuple[float, float],
    acknowledged: list[float],
    stop: asyncio.Event,
) -> None:
    """A fix every 0.1 s, 1 m further north each, as a phone that retries a failed send
    with its next fix (what the server acknowledged is what must be kept)."""
    lat, lng = start
    while not stop.is_set():
        lat += 0.000009
        at = datetime.now(UTC)
        fix = {"lat": lat, "lng": lng, "recorded_at": at.isoformat(), "accuracy_m": 8}
        with suppress(httpx.HTTPError):
            response = await driver.post("/api/v1/drivers/me/locations", json=[fix])
            if response.status_code == 200 and response.json()["accepted"] == 1:
                acknowledged.append(at.timestamp())
        await asyncio.sleep(0.1)


async def _create_orders(
    client: httpx.AsyncClient, created: list[int], stop: asyncio.Event
) -> None:
    while not stop.is_set():
        with suppress(httpx.HTTPError):
            response = await client.post("/api/v1/orders", json=order_payload())
            if response.status_code == 201:
                created.append(response.json()["id"])
        await asyncio.sleep(0.2)


async def _history(client: httpx.AsyncClient, driver_id: int) -> set[float]:
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    response = await client.get(
        f"/api/v1/drivers/{driver_id}/locations", params={"from": since, "limit": 5000}
    )
    assert response.status_code == 200, response.text
    return {
        round(datetime.fromisoformat(f["recorded_at"]).timestamp(), 3)
        for f in response.json()["items"]
    }


async def test_a_driver_at_a_stop_when_their_worker_dies_arrives_once_and_leaves_once(
    cluster: Cluster, org: Org
) -> None:
    route = await on_route(org, [HOME])
    order_id = route.orders[0]["id"]
    await move(org.driver, order_id, "en_route")
    victim = next(iter(cluster.workers))
    driver = await _driver_hashed_to(cluster, org, victim)
    t = time.time() - 900  # fixes recorded over the last quarter of an hour, 5 s apart

    async def send(points: list[tuple[float, float]]) -> None:
        nonlocal t
        for k in range(0, len(points), 3):
            fixes = []
            for lat, lng in points[k : k + 3]:
                at = datetime.fromtimestamp(t, UTC).isoformat()
                fixes.append({"lat": lat, "lng": lng, "recorded_at": at, "accuracy_m": 6})
                t += 5
            response = await driver.post("/api/v1/drivers/me/locations", json=fixes)
            assert response.status_code == 200, response.text
            assert response.json()["accepted"] == len(fixes), response.text

    async def count(kind: str) -> int:
        response = await org.dispatcher.get(f"/api/v1/orders/{order_id}/events")
        assert response.status_code == 200, response.text
        return sum(1 for e in response.json() if e["kind"] == kind)

    async def first_fix_loads_the_fences(point: tuple[float, float]) -> None:
        await send([point])
        await asyncio.sleep(1)  # the worker loads the driver's route after a first fix

    door = south_of(HOME, 5)
    await first_fix_loads_the_fences(south_of(HOME, 3_000))
    await send([south_of(HOME, d) for d in range(2_925, 0, -75)] + [door] * 24)
    await eventually(lambda: _count_is(count, "arrived", 1), 10, "arrived at the door")

    cluster.kill(victim)
    await first_fix_loads_the_fences(door)  # nginx sends the fixes to the other worker
    await send([door] * 24)  # two more minutes at the door
    await send([south_of(HOME, -75 - 75 * k) for k in range(8)])  # and away, unserved
    await eventually(lambda: _count_is(count, "left_without_proof", 1), 10, "left reported")
    # Applied in order on that worker: a second arrival would be in the timeline by now.
    assert await count("arrived") == 1


async def _count_is(count: Callable[[str], Awaitable[int]], kind: str, expected: int) -> bool:
    return await count(kind) == expected


def test_the_whole_sample_config_is_valid_nginx(tmp_path: Path) -> None:
    require_tool(NGINX, "nginx (Debian package nginx)")
    checked = check_full_config(tmp_path / "full")
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr
