"""What changes a driver's day reaches their socket (``/api/v1/drivers/me/ws``) live, as
``update`` frames, over a real server: customers' self-service, dispatch's route edits and
reassignments; another driver hears none of it, and answers to fixes still come."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from tests.backend.locations.test_fanout_sockets import (
    access_token,
    frames_until,
    routed_orders,
    ws_url,
)
from tests.backend.locations.test_ingest_ws import fix
from tests.factories import Org, assign, create_order

PATH = "/api/v1/drivers/me/ws"


@asynccontextmanager
async def driver_socket(
    base_url: str, driver: httpx.AsyncClient
) -> AsyncIterator[ClientConnection]:
    """The driver app's socket, signed in as ``driver``, once the server said ``ready``."""
    async with connect(ws_url(base_url, PATH), open_timeout=10) as ws:
        await ws.send(orjson.dumps({"type": "auth", "token": await access_token(driver)}).decode())
        ready = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert ready["type"] == "ready", ready
        yield ws


async def update(
    ws: ClientConnection, kind: str, within_s: float = 3, **fields: Any
) -> dict[str, Any]:
    """The first update of ``kind`` whose message has ``fields``."""

    def wanted(frame: dict[str, Any]) -> bool:
        message = frame["update"]
        return message["type"] == kind and all(message.get(k) == v for k, v in fields.items())

    frame = await frames_until(ws, "update", within_s, wanted)
    message: dict[str, Any] = frame["update"]
    return message


async def updates_before_pong(ws: ClientConnection) -> list[dict[str, Any]]:
    """The updates the socket had for its driver: everything queued before a pong.

    A change's messages are all published before its HTTP answer returns, and the socket
    sends in order, so whatever was meant for this driver comes before the pong."""
    await ws.send('{"type": "ping"}')
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 5
    while True:
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if frame["type"] == "pong":
            return seen
        if frame["type"] == "update":
            seen.append(frame["update"])


async def test_a_customers_new_instructions_and_window_reach_the_driver_and_nobody_else(
    base_url: str, org: Org
) -> None:
    orders, tokens = await routed_orders(org, 2)
    order_id = orders[0]["id"]
    async with (
        driver_socket(base_url, org.driver) as mine,
        driver_socket(base_url, org.driver2) as theirs,
        httpx.AsyncClient(base_url=base_url) as customer,
    ):
        response = await customer.put(
            f"/api/v1/track/{tokens[0]}/instructions", json={"option": "gate_code", "text": "4821"}
        )
        assert response.json()["outcome"] == "applied", response.text

        heard = await update(mine, "order_changed", order_id=order_id)
        assert heard["kind"] == "updated"
        assert await updates_before_pong(theirs) == []

        slots = (await customer.get(f"/api/v1/track/{tokens[0]}/slots")).json()
        response = await customer.put(f"/api/v1/track/{tokens[0]}/window", json=slots[2])
        assert response.status_code == 200, response.text

        heard = await update(mine, "order_changed", order_id=order_id)
        assert heard["kind"] == "updated"
        assert await updates_before_pong(theirs) == []

        # The socket still answers fixes between updates.
        await mine.send(
            orjson.dumps({"type": "fixes", "id": "b1", "fixes": [fix(43.7384, time.time())]})
        )
        ack = await frames_until(mine, "ack", 3)
        assert (ack["id"], ack["accepted"]) == ("b1", 1)


async def test_dispatchs_route_edits_reach_the_routes_drivers(base_url: str, org: Org) -> None:
    orders, _ = await routed_orders(org, 3)
    route_id = await route_of(org, orders[0]["id"])
    async with (
        driver_socket(base_url, org.driver) as mine,
        driver_socket(base_url, org.driver2) as theirs,
    ):
        stops = [next(s["id"] for s in o["stops"] if s["kind"] == "dropoff") for o in orders]
        response = await org.dispatcher.patch(
            f"/api/v1/routes/{route_id}", json={"stops": [{"stop_id": i} for i in stops[::-1]]}
        )
        assert response.status_code == 200, response.text

        heard = await update(mine, "route_changed", route_id=route_id)
        assert heard["change"] == "updated"
        assert await updates_before_pong(theirs) == []

        # The route goes to the other driver: the one who had it hears it too.
        response = await org.dispatcher.patch(
            f"/api/v1/routes/{route_id}", json={"driver_id": org.driver_ids[1]}
        )
        assert response.status_code == 200, response.text
        for ws in (mine, theirs):
            assert (await update(ws, "route_changed", route_id=route_id))["change"] == "updated"

        response = await org.dispatcher.delete(f"/api/v1/routes/{route_id}")
        assert response.status_code == 204, response.text
        assert (await update(theirs, "route_changed", route_id=route_id))["change"] == "deleted"
        assert await updates_before_pong(mine) == []


async def test_a_reassigned_order_is_heard_by_the_driver_it_leaves_and_the_one_it_joins(
    base_url: str, org: Org
) -> None:
    order = await create_order(org.dispatcher)
    await assign(org.dispatcher, order["id"], org.driver_ids[0])
    async with (
        driver_socket(base_url, org.driver) as first,
        driver_socket(base_url, org.driver2) as second,
    ):
        response = await org.dispatcher.post(
            f"/api/v1/orders/{order['id']}/transitions", json={"to": "created"}
        )
        assert response.status_code == 200, response.text
        left = await update(first, "order_changed", order_id=order["id"])
        assert (left["from_status"], left["to_status"]) == ("assigned", "created")
        assert await updates_before_pong(second) == []

        await assign(org.dispatcher, order["id"], org.driver_ids[1])
        joined = await update(second, "order_changed", order_id=order["id"])
        assert joined["to_status"] == "assigned"
        assert await updates_before_pong(first) == []


async def route_of(org: Org, order_id: int) -> int:
    order = (await org.dispatcher.get(f"/api/v1/orders/{order_id}")).json()
    route_id: int = next(s["route_id"] for s in order["stops"] if s["kind"] == "dropoff")
    return route_id
