"""Planning a driver's day through the API, as a dispatcher does."""

from datetime import date
from typing import Any

import httpx

from tests.factories import assign, create_order


async def assigned_orders(
    dispatcher: httpx.AsyncClient, driver_id: int, count: int
) -> list[dict[str, Any]]:
    """``count`` new dropoff orders, assigned to ``driver_id``."""
    orders = []
    for _ in range(count):
        order = await create_order(dispatcher)
        orders.append(await assign(dispatcher, order["id"], driver_id))
    return orders


async def plan_route(
    dispatcher: httpx.AsyncClient, driver_id: int, day: date, orders: list[dict[str, Any]]
) -> dict[str, Any]:
    """A route for ``day`` visiting the orders' stops in the order given."""
    stops = [{"stop_id": stop["id"]} for order in orders for stop in order["stops"]]
    response = await dispatcher.post(
        "/api/v1/routes",
        json={"driver_id": driver_id, "service_date": day.isoformat(), "stops": stops},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def dropoff_address(order: dict[str, Any]) -> str:
    address: str = next(s["address"] for s in order["stops"] if s["kind"] == "dropoff")
    return address
