"""Live sockets end when the access token that opened them expires (close code 4401), so a
signed-out or expired session does not keep receiving the fleet or sending fixes."""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
import websockets
from sqlmodel import select

from backend.auth.tokens import issue
from backend.config import Settings
from backend.db import create_engine, session_scope
from backend.models import TrackingLink
from tests.backend.locations.test_fanout_sockets import routed_orders, ws_url
from tests.factories import Org

LIFETIME_S = 2


async def short_token(settings: Settings, client: httpx.AsyncClient) -> str:
    me = (await client.get("/api/v1/auth/me")).json()
    return issue(settings.secret_key, me["id"], "access", LIFETIME_S, version=0)


async def closed_code(ws: websockets.ClientConnection, within_s: float) -> int | None:
    """The close code the server ends ``ws`` with (frames before it are skipped)."""

    async def drain() -> None:
        while True:
            await ws.recv()

    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(drain(), within_s)
    return ws.close_code


async def test_the_fleet_socket_closes_when_its_token_expires(
    settings: Settings, base_url: str, org: Org
) -> None:
    token = await short_token(settings, org.dispatcher)
    opened = time.monotonic()
    async with websockets.connect(ws_url(base_url, f"/api/v1/fleet/ws?token={token}")) as ws:
        assert orjson.loads(await ws.recv())["type"] == "hello"
        assert await closed_code(ws, LIFETIME_S + 3) == 4401
        assert "expired" in (ws.close_reason or "")
    assert time.monotonic() - opened >= LIFETIME_S - 1


async def test_the_driver_socket_closes_when_its_token_expires(
    settings: Settings, base_url: str, org: Org
) -> None:
    token = await short_token(settings, org.driver)
    headers = {"Authorization": f"Bearer {token}"}
    url = ws_url(base_url, "/api/v1/drivers/me/ws")
    async with websockets.connect(url, additional_headers=headers) as ws:
        assert orjson.loads(await ws.recv())["type"] == "ready"
        await ws.send(orjson.dumps({"type": "ping"}).decode())
        assert orjson.loads(await ws.recv()) == {"type": "pong"}  # open and working until then
        assert await closed_code(ws, LIFETIME_S + 3) == 4401


async def test_the_tracking_socket_closes_when_its_link_expires(
    settings: Settings, base_url: str, org: Org
) -> None:
    _, tokens = await routed_orders(org, 1)
    engine = create_engine(settings.resolved_database_url)
    try:
        async with session_scope(engine) as session:
            link = (
                await session.exec(select(TrackingLink).where(TrackingLink.token == tokens[0]))
            ).one()
            link.expires_at = datetime.now(UTC) + timedelta(seconds=LIFETIME_S)
            session.add(link)
    finally:
        await engine.dispose()
    url = ws_url(base_url, f"/api/v1/track/{tokens[0]}/ws")
    opened = time.monotonic()
    async with websockets.connect(url) as ws:
        assert orjson.loads(await ws.recv())["type"] == "hello"
        assert await closed_code(ws, LIFETIME_S + 3) == 4410
        assert "expired" in (ws.close_reason or "")
    assert time.monotonic() - opened >= LIFETIME_S - 1
    async with websockets.connect(url) as ws:  # and a new socket is refused at once
        assert await closed_code(ws, 3) == 4410
