"""The dispatcher app's state against the real backend, through the real API client."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from dispatcher_app.logic.orders import UNASSIGNED, order_row
from dispatcher_app.state.app import DispatcherAppState
from shared.api_client import ApiClient
from shared.enums import DriverStatus, OrderStatus
from tests.factories import PASSWORD, Org, assign, create_order
from tests.live_server import free_port

NOW = datetime(2031, 3, 14, 7, 30, tzinfo=UTC)


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[ApiClient]:
    async with ApiClient(base_url) as api:
        yield api


def dispatcher_app(client: ApiClient, page_size: int = 25) -> DispatcherAppState:
    return DispatcherAppState(client, now=lambda: NOW, tz=UTC, page_size=page_size)


def grid(app: DispatcherAppState) -> list[tuple[str, str, str]]:
    """(reference, status, driver) of every line, as the grid shows them."""
    names = app.drivers.names
    rows = [order_row(o, names, tz=app.tz, today=app.today) for o in app.orders.orders]
    return [(row.reference, row.status, row.driver) for row in rows]


async def test_grid_shows_the_orders_with_their_drivers_names(org: Org, client: ApiClient) -> None:
    waiting = await create_order(org.dispatcher)
    taken = await create_order(org.dispatcher)
    await assign(org.dispatcher, taken["id"], org.driver_ids[0])
    app = dispatcher_app(client)

    assert await app.login(org.emails["dispatcher"], PASSWORD)

    assert grid(app) == [  # newest first
        (taken["reference"], "Assigned", "Dora Driver"),
        (waiting["reference"], "Created", UNASSIGNED),
    ]
    line = order_row(app.orders.orders[0], app.drivers.names, tz=app.tz, today=app.today)
    assert line.recipient == taken["recipient_name"]
    assert line.address == taken["stops"][0]["address"]
    assert app.orders.total == 2
    assert not app.orders.has_more


async def test_status_filter_narrows_the_grid(org: Org, client: ApiClient) -> None:
    created = [await create_order(org.dispatcher) for _ in range(2)]
    assigned = await create_order(org.dispatcher)
    await assign(org.dispatcher, assigned["id"], org.driver_ids[1])
    app = dispatcher_app(client)
    assert await app.login(org.emails["dispatcher"], PASSWORD)
    assert len(app.orders.orders) == 3

    await app.orders.set_status_filter(OrderStatus.ASSIGNED)
    assert grid(app) == [(assigned["reference"], "Assigned", "Dirk Driver")]

    await app.orders.set_status_filter(OrderStatus.CREATED)
    assert {ref for ref, _, _ in grid(app)} == {o["reference"] for o in created}

    await app.orders.set_status_filter(OrderStatus.DELIVERED)
    assert grid(app) == []
    assert app.orders.loaded
    assert app.orders.total == 0

    await app.orders.set_status_filter(None)
    assert len(grid(app)) == 3


async def test_search_finds_an_order_by_reference_and_clears(org: Org, client: ApiClient) -> None:
    orders = [await create_order(org.dispatcher) for _ in range(3)]
    app = dispatcher_app(client)
    assert await app.login(org.emails["dispatcher"], PASSWORD)

    await app.orders.search(f"  {orders[1]['reference']} ")
    assert [ref for ref, _, _ in grid(app)] == [orders[1]["reference"]]

    await app.orders.search("")
    assert len(grid(app)) == 3


async def test_load_more_pages_through_the_orders(org: Org, client: ApiClient) -> None:
    orders = [await create_order(org.dispatcher) for _ in range(5)]
    newest_first = [o["reference"] for o in reversed(orders)]
    app = dispatcher_app(client, page_size=2)
    assert await app.login(org.emails["dispatcher"], PASSWORD)
    assert [ref for ref, _, _ in grid(app)] == newest_first[:2]
    assert app.orders.has_more

    await app.orders.load_more()
    await app.orders.load_more()

    assert [ref for ref, _, _ in grid(app)] == newest_first
    assert not app.orders.has_more
    await app.orders.load_more()  # nothing left: no change
    assert len(app.orders.orders) == 5


async def test_drivers_panel_shows_each_drivers_status(org: Org, client: ApiClient) -> None:
    app = dispatcher_app(client)
    assert await app.login(org.emails["dispatcher"], PASSWORD)
    assert [(d.name, d.status) for d in app.drivers.drivers] == [
        ("Dirk Driver", DriverStatus.OFFLINE),
        ("Dora Driver", DriverStatus.OFFLINE),
    ]

    response = await org.driver.put("/api/v1/drivers/me/status", json={"status": "on_break"})
    assert response.status_code == 200, response.text
    await app.refresh()

    assert {d.name: d.status for d in app.drivers.drivers}["Dora Driver"] is DriverStatus.ON_BREAK


async def test_a_driver_is_sent_to_the_driver_app(org: Org, client: ApiClient) -> None:
    app = dispatcher_app(client)

    assert not await app.login(org.emails["driver"], PASSWORD)

    assert app.session.error is not None
    assert "driver app" in app.session.error
    assert app.orders.orders == []
    assert client.tokens is None


async def test_an_admin_may_dispatch(org: Org, client: ApiClient) -> None:
    assert await dispatcher_app(client).login(org.emails["admin"], PASSWORD)


async def test_wrong_password_shows_the_servers_message(
    org: Org, client: ApiClient, base_url: str
) -> None:
    async with httpx.AsyncClient(base_url=base_url) as raw:
        answer = await raw.post(
            "/api/v1/auth/token",
            data={"username": org.emails["dispatcher"], "password": "nope-nope"},
        )
    app = dispatcher_app(client)

    assert not await app.login(org.emails["dispatcher"], "nope-nope")

    assert app.session.error == answer.json()["error"]["message"]


async def test_unreachable_server_is_named_in_the_message() -> None:
    async with ApiClient(f"http://127.0.0.1:{free_port()}") as nowhere:
        app = dispatcher_app(nowhere)
        assert not await app.login("dispatcher@example.test", PASSWORD)
    assert app.session.error is not None
    assert app.session.error.startswith("Cannot reach the server at http://127.0.0.1:")


async def test_logout_forgets_the_grid_the_filters_and_the_drivers(
    org: Org, client: ApiClient
) -> None:
    await create_order(org.dispatcher)
    app = dispatcher_app(client)
    assert await app.login(org.emails["dispatcher"], PASSWORD)
    await app.orders.set_status_filter(OrderStatus.CREATED)

    app.logout()

    assert not app.session.signed_in
    assert client.tokens is None
    assert app.orders.orders == []
    assert app.orders.status_filter is None
    assert app.drivers.drivers == []
