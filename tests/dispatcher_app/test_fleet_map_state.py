"""The live map's state against the real backend: HTTP for what is there, the real fleet
socket for what moves."""

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from dispatcher_app.state.fleet_map import FleetMapState
from shared.api_client import ApiClient
from shared.enums import OrderStatus
from shared.schemas.locations import FixIn
from tests.factories import PASSWORD, Org, assign, create_order


@pytest.fixture
async def dispatcher(org: Org, base_url: str) -> AsyncIterator[ApiClient]:
    async with ApiClient(base_url) as api:
        await api.login(org.emails["dispatcher"], PASSWORD)
        yield api


@pytest.fixture
async def driver(org: Org, base_url: str) -> AsyncIterator[ApiClient]:
    async with ApiClient(base_url) as api:
        await api.login(org.emails["driver"], PASSWORD)
        yield api


async def eventually(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def route_with_two_stops(org: Org) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    orders = []
    for _ in range(2):
        order = await create_order(org.dispatcher)
        await assign(org.dispatcher, order["id"], org.driver_ids[0])
        orders.append(order)
    # the second order first: the map follows the route's sequence, not the orders' ids
    body = {
        "driver_id": org.driver_ids[0],
        "service_date": date.today().isoformat(),
        "stops": [
            {"stop_id": orders[1]["stops"][0]["id"]},
            {"stop_id": orders[0]["stops"][0]["id"]},
        ],
    }
    response = await org.dispatcher.post("/api/v1/routes", json=body)
    assert response.status_code == 201, response.text
    return response.json(), orders


async def test_load_reads_routes_depots_zones_and_order_states(
    org: Org, dispatcher: ApiClient
) -> None:
    route, orders = await route_with_two_stops(org)
    depot = await org.admin.post(
        "/api/v1/depots", json={"name": "North depot", "lat": 43.74, "lng": 7.42}
    )
    assert depot.status_code == 201, depot.text
    zone = await org.admin.post(
        "/api/v1/zones",
        json={
            "name": "Old town",
            "kind": "zone",
            "points": [[43.73, 7.42], [43.73, 7.43], [43.74, 7.425]],
        },
    )
    assert zone.status_code == 201, zone.text
    state = FleetMapState(dispatcher, on_expired=lambda: None, today=date.today)
    try:
        await state.load()
        assert state.error is None
        assert [d.name for d in state.depots] == ["North depot"]
        assert [z.name for z in state.zones] == ["Old town"]
        assert state.routes[org.driver_ids[0]].id == route["id"]
        assert state.order_status == {o["id"]: OrderStatus.ASSIGNED for o in orders}
        assert state.references[orders[0]["id"]] == orders[0]["reference"]

        state.select(org.driver_ids[0])
        assert state.route is not None
        assert state.route.id == route["id"]
        # straight lines first, the road path (or the server's estimate) after
        assert len(state.path) >= 2
        await eventually(lambda: state._path_task is None or state._path_task.done())
        assert len(state.path) >= 2

        # A status change reaches the map over the socket, without reloading.
        await eventually(lambda: state.connected)
        response = await org.dispatcher.post(
            f"/api/v1/orders/{orders[0]['id']}/transitions", json={"to": "cancelled"}
        )
        assert response.status_code == 200, response.text
        await eventually(lambda: state.order_status[orders[0]["id"]] is OrderStatus.CANCELLED)
    finally:
        await state.aclose()


async def test_driver_fixes_move_the_driver_through_the_socket_coalesced(
    org: Org, dispatcher: ApiClient, driver: ApiClient
) -> None:
    state = FleetMapState(dispatcher, on_expired=lambda: None, tick_s=0.25)
    try:
        await state.load()
        await eventually(lambda: state.connected)
        start = datetime.now(UTC)
        for i in range(10):  # ten fixes in quick succession, heading north-east
            at = start.replace(microsecond=0).timestamp() + i
            fix = FixIn(
                lat=43.70 + i * 0.0005,
                lng=7.40 + i * 0.0005,
                recorded_at=datetime.fromtimestamp(at, UTC),
                heading_deg=45,
                speed_mps=8,
            )
            await driver.send_fixes([fix])
        me = org.driver_ids[0]
        await eventually(lambda: me in state.positions and state.positions[me].lat > 43.7044)
        p = state.positions[me]
        assert p.heading_deg == 45
        assert state.count == 1
        assert state.updates >= 1
        assert state.updated_at is not None
        # Coalesced: far fewer renders than frames would have made, never one per fix.
        assert state.updates <= state.coalescer.frames
    finally:
        await state.aclose()


async def test_an_expired_token_reconnects_with_a_fresh_one(
    org: Org, dispatcher: ApiClient, driver: ApiClient
) -> None:
    state = FleetMapState(dispatcher, on_expired=lambda: None)
    try:
        await state.load()
        await eventually(lambda: state.connected)
        assert dispatcher.tokens is not None
        old = dispatcher.tokens.access_token
        dispatcher.tokens = dispatcher.tokens.model_copy(update={"access_token": "not-a-token"})
        # Drop the socket: the next connection gets 4401, refreshes, and comes back.
        for task in state._tasks:
            if task.get_name() == "fleet-socket":
                task.cancel()
        state._tasks = [t for t in state._tasks if t.get_name() != "fleet-socket"]
        state.connected = False
        state._tasks.append(asyncio.create_task(state._run_socket(), name="fleet-socket"))
        await eventually(lambda: state.connected)
        # refreshed (within the same second the server may issue the same token again)
        assert dispatcher.tokens.access_token != "not-a-token"
        assert old
    finally:
        await state.aclose()
