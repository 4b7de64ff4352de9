"""The driver app's WebSocket over a real server: authentication, acks, bad frames."""

import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.factories import PASSWORD, Org


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/api/v1/drivers/me/ws"


async def access_token(base_url: str, email: str) -> str:
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.post(
            "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token


async def exchange(socket: ClientConnection, message: Any) -> dict[str, Any]:
    await socket.send(message if isinstance(message, str) else json.dumps(message))
    reply: dict[str, Any] = json.loads(await socket.recv())
    return reply


def fix(lat: float, at: float, **extra: Any) -> dict[str, Any]:
    stamp = datetime.fromtimestamp(at, UTC).isoformat()
    return {"lat": lat, "lng": 7.4246, "recorded_at": stamp, **extra}


async def test_auth_message_then_acked_batches(org: Org, base_url: str) -> None:
    token = await access_token(base_url, org.emails["driver"])
    now = time.time()
    async with connect(ws_url(base_url)) as socket:
        ready = await exchange(socket, {"type": "auth", "token": token})
        assert ready == {"type": "ready", "driver_id": org.driver_ids[0]}
        ack = await exchange(
            socket,
            {
                "type": "fixes",
                "id": "batch-1",
                "fixes": [
                    fix(43.7384, now - 20, speed_mps=4.0, battery=90),
                    fix(91.0, now - 15),  # invalid: listed, the rest kept
                    fix(43.7388, now - 10, speed_mps=5.0, battery=89),
                ],
            },
        )
        assert ack["type"] == "ack"
        assert ack["id"] == "batch-1"
        assert ack["accepted"] == 2
        assert [(r["index"], r["reason"]) for r in ack["rejected"]] == [(1, "invalid")]

        # Invalid frames get an error and the socket stays open.
        assert (await exchange(socket, "{nope"))["type"] == "error"
        assert (await exchange(socket, [1, 2]))["type"] == "error"
        unknown = await exchange(socket, {"type": "dance", "id": 7})
        assert (unknown["type"], unknown["id"]) == ("error", 7)
        too_many = await exchange(socket, {"type": "fixes", "id": 8, "fixes": [{}] * 501})
        assert too_many["type"] == "error"
        assert "500" in too_many["message"]
        assert await exchange(socket, {"type": "ping"}) == {"type": "pong"}

        # A resent batch (the ack was lost) is a duplicate, not a second position.
        again = await exchange(
            socket, {"type": "fixes", "id": "batch-1b", "fixes": [fix(43.7388, now - 10)]}
        )
        assert (again["accepted"], again["rejected"][0]["reason"]) == (0, "duplicate")

    positions = (await org.dispatcher.get("/api/v1/fleet/positions")).json()
    (mine,) = [p for p in positions if p["driver_id"] == org.driver_ids[0]]
    assert mine["lat"] == pytest.approx(43.7388)
    assert (mine["speed_mps"], mine["battery"]) == (5.0, 89)


async def test_bearer_header_authenticates(org: Org, base_url: str) -> None:
    token = await access_token(base_url, org.emails["driver2"])
    headers = {"Authorization": f"Bearer {token}"}
    async with connect(ws_url(base_url), additional_headers=headers) as socket:
        ready = json.loads(await socket.recv())
        assert ready == {"type": "ready", "driver_id": org.driver_ids[1]}


@pytest.mark.parametrize(
    ("first", "code"),
    [
        ({"type": "auth", "token": "not-a-token"}, 4401),
        ({"type": "fixes", "fixes": []}, 4401),
        ("not json", 4401),
    ],
)
async def test_auth_failures_close_with_4401(base_url: str, first: Any, code: int) -> None:
    async with connect(ws_url(base_url)) as socket:
        await socket.send(first if isinstance(first, str) else json.dumps(first))
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == code


async def test_a_dispatcher_is_not_a_driver(org: Org, base_url: str) -> None:
    token = await access_token(base_url, org.emails["dispatcher"])
    async with connect(ws_url(base_url)) as socket:
        await socket.send(json.dumps({"type": "auth", "token": token}))
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403
