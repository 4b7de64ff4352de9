"""Fan-out over real sockets: dispatchers, strangers, customers, a socket that never reads."""

import asyncio
import math
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from backend.config import Settings
from tests.factories import Org, SignIn, assign, create_order, create_org_with_users, login

# Raw fixes with digits no grid centre has, so "approximate" is checkable.
RAW = (43.738517, 7.421793)
FAR = (43.742913, 7.427311)  # ~650 m away


def ws_url(base_url: str, path: str) -> str:
    return base_url.replace("http://", "ws://") + path


async def access_token(client: httpx.AsyncClient) -> str:
    await client.get("/api/v1/orders", params={"limit": 1})  # signs in on the first request
    assert isinstance(client.auth, SignIn)
    assert client.auth.token is not None
    return client.auth.token


@asynccontextmanager
async def live(url: str) -> AsyncIterator[ClientConnection]:
    async with websockets.connect(url, open_timeout=10) as ws:
        hello = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert hello["type"] == "hello", hello
        yield ws


async def frames_until(
    ws: ClientConnection, kind: str, within_s: float, match: Any = None
) -> dict[str, Any]:
    """The first frame of ``kind`` (and matching ``match``) within ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {kind} frame within {within_s} s")
        frame: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), left))
        if frame["type"] == kind and (match is None or match(frame)):
            return frame


async def quiet(ws: ClientConnection, kind: str, seconds: float) -> list[dict[str, Any]]:
    """Frames of ``kind`` that arrive within ``seconds`` (expected: none)."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = orjson.loads(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
        if frame["type"] == kind and frame.get("position", True) is not None:
            seen.append(frame)
    return seen


async def send_fix(driver: httpx.AsyncClient, lat: float, lng: float, age_s: float) -> None:
    recorded_at = datetime.fromtimestamp(time.time() - age_s, UTC).isoformat()
    fix = {"lat": lat, "lng": lng, "recorded_at": recorded_at, "accuracy_m": 8}
    response = await driver.post("/api/v1/drivers/me/locations", json={"fixes": [fix]})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1, response.text


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (a[0] - b[0]) * 111_320
    dx = (a[1] - b[1]) * 111_320 * math.cos(math.radians(a[0]))
    return math.hypot(dx, dy)


async def routed_orders(org: Org, count: int) -> tuple[list[dict[str, Any]], list[str]]:
    """``count`` orders assigned to the first driver, on today's route in that order, each
    with a tracking token."""
    orders = [await create_order(org.dispatcher) for _ in range(count)]
    for order in orders:
        await assign(org.dispatcher, order["id"], org.driver_ids[0])
    stops = [next(s for s in o["stops"] if s["kind"] == "dropoff") for o in orders]
    route = {
        "driver_id": org.driver_ids[0],
        "service_date": datetime.now(UTC).date().isoformat(),
        "stops": [{"stop_id": s["id"]} for s in stops],
    }
    response = await org.dispatcher.post("/api/v1/routes", json=route)
    assert response.status_code == 201, response.text
    tokens = []
    for order in orders:
        response = await org.dispatcher.post(
            f"/api/v1/orders/{order['id']}/tracking-links", json={}
        )
        assert response.status_code == 201, response.text
        tokens.append(response.json()["token"])
    return orders, tokens


async def transition(client: httpx.AsyncClient, order_id: int, to: str) -> None:
    response = await client.post(f"/api/v1/orders/{order_id}/transitions", json={"to": to})
    assert response.status_code == 200, response.text


async def stranger_token(settings: Settings, base_url: str) -> str:
    """A dispatcher of another organisation (its own client, closed here)."""
    _, _, emails, _ = await create_org_with_users(settings)
    client = await login(base_url, emails["dispatcher"])
    async with client:
        return await access_token(client)


async def test_dispatcher_customer_and_stranger(
    settings: Settings, base_url: str, org: Org
) -> None:
    orders, tokens = await routed_orders(org, 3)
    first, _, third = orders
    fleet_url = ws_url(base_url, f"/api/v1/fleet/ws?token={await access_token(org.dispatcher)}")
    other_url = ws_url(
        base_url, f"/api/v1/fleet/ws?token={await stranger_token(settings, base_url)}"
    )
    async with (
        live(fleet_url) as fleet,
        live(other_url) as other,
        live(ws_url(base_url, f"/api/v1/track/{tokens[0]}/ws")) as customer1,
        live(ws_url(base_url, f"/api/v1/track/{tokens[2]}/ws")) as customer3,
    ):
        snapshot = await frames_until(customer1, "snapshot", 5)
        assert snapshot["view"]["driver_position"] is None

        sent = time.monotonic()
        await send_fix(org.driver, *RAW, age_s=120)
        frame = await frames_until(
            fleet, "positions", 1.0, lambda f: f["positions"][0]["driver_id"] == org.driver_ids[0]
        )
        assert time.monotonic() - sent < 1.0
        assert (frame["positions"][0]["lat"], frame["positions"][0]["lng"]) == RAW

        seen = await frames_until(
            customer1, "driver_position", 2, lambda f: f["position"] is not None
        )
        approx = (seen["position"]["lat"], seen["position"]["lng"])
        assert approx != RAW
        assert 0 < metres(approx, RAW) < 100
        assert seen["order_id"] == first["id"]

        async with httpx.AsyncClient(base_url=base_url) as customer_http:
            polled = await customer_http.get(f"/api/v1/track/{tokens[0]}")
        assert polled.json()["driver_position"]["lat"] == approx[0]

        assert await quiet(customer3, "driver_position", 0.5) == []  # third stop: not yet
        assert await quiet(other, "positions", 0.3) == []  # another organisation: never

        # The first order is delivered: its customer hears the event, then no position.
        await transition(org.driver, first["id"], "en_route")
        await transition(org.driver, first["id"], "delivered")
        for ws in (customer1, fleet):
            await frames_until(ws, "order_event", 2, lambda f: f["to_status"] == "delivered")
        await asyncio.sleep(0.3)
        await send_fix(org.driver, *FAR, age_s=30)
        assert await quiet(customer1, "driver_position", 0.7) == []
        # ... and the third order is now the next stop: its customer sees the driver.
        seen3 = await frames_until(
            customer3,
            "driver_position",
            2,
            lambda f: (
                f["position"] and metres((f["position"]["lat"], f["position"]["lng"]), FAR) < 100
            ),
        )
        assert third["id"] == seen3["order_id"]
        assert await quiet(other, "positions", 0.2) == []


async def test_bad_tokens_close_with_documented_codes(base_url: str, org: Org) -> None:
    for path, code in (
        ("/api/v1/track/not-a-token/ws", 4404),
        ("/api/v1/fleet/ws?token=nonsense", 4401),
        (f"/api/v1/fleet/ws?token={await access_token(org.driver)}", 4403),
    ):
        async with websockets.connect(ws_url(base_url, path)) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == code


def never_reading_socket(base_url: str, path: str) -> socket.socket:
    """A WebSocket handshake on a socket with a tiny receive buffer that is never read."""
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.connect((host, int(port)))
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    return sock


async def test_a_socket_that_never_reads_slows_nobody(base_url: str, org: Org) -> None:
    token = await access_token(org.dispatcher)
    stuck = [never_reading_socket(base_url, f"/api/v1/fleet/ws?token={token}") for _ in range(3)]
    try:
        async with live(ws_url(base_url, f"/api/v1/fleet/ws?token={token}")) as fleet:
            order = await create_order(org.dispatcher)
            latencies = []
            for i in range(40):
                sent = time.monotonic()
                lat = RAW[0] + i * 0.0001  # ~11 m per fix, 1 s apart
                await send_fix(org.driver, lat, RAW[1], age_s=100 - i)
                await frames_until(
                    fleet, "positions", 1.0, lambda f, lat=lat: f["positions"][0]["lat"] == lat
                )
                latencies.append(time.monotonic() - sent)
            await assign(org.dispatcher, order["id"], org.driver_ids[1])
            await frames_until(fleet, "order_event", 1.0, lambda f: f["order_id"] == order["id"])
            assert max(latencies) < 1.0
    finally:
        for sock in stuck:
            sock.close()
