"""Publishing a draft route (``PATCH /routes/{id}``) over a real server hands its new
orders to the route's driver, on their timeline and live on the driver's socket; an order
another driver has is never taken: the route is refused and nothing changes."""

from datetime import UTC, datetime
from typing import Any

import httpx

from tests.backend.locations.test_driver_updates import driver_socket, update, updates_before_pong
from tests.factories import Org, assign, create_order


async def draft_route(org: Org, driver_id: int, orders: list[dict[str, Any]]) -> int:
    made = await org.dispatcher.post(
        "/api/v1/routes",
        json={
            "driver_id": driver_id,
            "service_date": datetime.now(UTC).date().isoformat(),
            "stops": [{"stop_id": o["stops"][0]["id"]} for o in orders],
        },
    )
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "draft"
    route_id: int = made.json()["id"]
    return route_id


async def order_of(client: httpx.AsyncClient, order_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/orders/{order_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def status_changes(org: Org, order_id: int) -> list[dict[str, Any]]:
    response = await org.dispatcher.get(f"/api/v1/orders/{order_id}/events")
    assert response.status_code == 200, response.text
    return [e for e in response.json() if e["kind"] == "status_changed"]


async def test_publishing_a_draft_route_assigns_its_new_orders_to_its_driver(
    base_url: str, org: Org
) -> None:
    driver = org.driver_ids[0]
    new = [await create_order(org.dispatcher) for _ in range(2)]
    mine = await create_order(org.dispatcher)
    await assign(org.dispatcher, mine["id"], driver)
    route = await draft_route(org, driver, [new[0], mine, new[1]])
    # A draft is the dispatcher's: its orders wait, the driver cannot open them yet.
    for order in new:
        assert (await order_of(org.dispatcher, order["id"]))["status"] == "created"
        assert (await org.driver.get(f"/api/v1/orders/{order['id']}")).status_code == 404

    async with (
        driver_socket(base_url, org.driver) as theirs,
        driver_socket(base_url, org.driver2) as others,
    ):
        published = await org.dispatcher.patch(
            f"/api/v1/routes/{route}", json={"status": "published"}
        )
        assert published.status_code == 200, published.text
        assert published.json()["status"] == "published"
        for order in new:
            heard = await update(theirs, "order_changed", order_id=order["id"])
            assert (heard["from_status"], heard["to_status"]) == ("created", "assigned")
        await update(theirs, "route_changed", route_id=route)
        assert await updates_before_pong(others) == []  # nothing of theirs changed

    for order in new:
        seen = await order_of(org.driver, order["id"])  # now in the driver's own list
        assert (seen["status"], seen["driver_id"]) == ("assigned", driver)
        [event] = await status_changes(org, order["id"])
        assert (event["from_status"], event["to_status"]) == ("created", "assigned")
        assert event["actor_role"] == "dispatcher"
        assert event["details"]["driver_id"] == driver
    # The order the driver already had is not assigned a second time.
    assert len(await status_changes(org, mine["id"])) == 1
    assert (await order_of(org.dispatcher, mine["id"]))["driver_id"] == driver


async def test_a_route_holding_another_drivers_order_is_refused_and_nothing_changes(
    org: Org,
) -> None:
    driver, other = org.driver_ids
    new = await create_order(org.dispatcher)
    taken = await create_order(org.dispatcher)
    await assign(org.dispatcher, taken["id"], other)
    route = await draft_route(org, driver, [new, taken])

    refused = await org.dispatcher.patch(f"/api/v1/routes/{route}", json={"status": "published"})
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert f"orders [{taken['id']}]" in error["message"]
    assert error["code"] == "orders_of_another_driver"
    assert (await org.dispatcher.get(f"/api/v1/routes/{route}")).json()["status"] == "draft"
    assert (await order_of(org.dispatcher, new["id"]))["status"] == "created"
    assert await status_changes(org, new["id"]) == []
    assert (await order_of(org.dispatcher, taken["id"]))["driver_id"] == other
    assert (await org.driver.get(f"/api/v1/orders/{new['id']}")).status_code == 404

    # Taken off the route, the rest publishes.
    kept = await org.dispatcher.patch(
        f"/api/v1/routes/{route}",
        json={"status": "published", "stops": [{"stop_id": new["stops"][0]["id"]}]},
    )
    assert kept.status_code == 200, kept.text
    assigned = await order_of(org.dispatcher, new["id"])
    assert (assigned["status"], assigned["driver_id"]) == ("assigned", driver)
    assert (await order_of(org.dispatcher, taken["id"]))["driver_id"] == other
