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


async def published_route(org: Org, driver_id: int, orders: list[dict[str, Any]]) -> int:
    route = await draft_route(org, driver_id, orders)
    published = await org.dispatcher.patch(f"/api/v1/routes/{route}", json={"status": "published"})
    assert published.status_code == 200, published.text
    return route


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


async def stop_ids(client: httpx.AsyncClient, route_id: int) -> list[int]:
    response = await client.get(f"/api/v1/routes/{route_id}")
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()["stops"]]


async def driver_day(org: Org, route_id: int) -> set[int]:
    """The orders the driver app shows on ``route_id``: its stops' orders the driver sees."""
    response = await org.driver.get("/api/v1/orders", params={"route_id": route_id})
    assert response.status_code == 200, response.text
    return {o["id"] for o in response.json()["items"]}


def stops_of(*orders: dict[str, Any]) -> list[dict[str, int]]:
    return [{"stop_id": o["stops"][0]["id"]} for o in orders]


async def test_stops_added_to_a_published_route_give_their_orders_to_its_driver(
    base_url: str, org: Org
) -> None:
    driver = org.driver_ids[0]
    first, planned, added = [await create_order(org.dispatcher) for _ in range(3)]
    route = await draft_route(org, driver, [first])
    # Added to a draft, an order waits for the route to be published.
    edited = await org.dispatcher.patch(
        f"/api/v1/routes/{route}", json={"stops": stops_of(first, planned)}
    )
    assert edited.status_code == 200, edited.text
    assert (await order_of(org.dispatcher, planned["id"]))["status"] == "created"
    published = await org.dispatcher.patch(f"/api/v1/routes/{route}", json={"status": "published"})
    assert published.status_code == 200, published.text
    assert await driver_day(org, route) == {first["id"], planned["id"]}

    async with (
        driver_socket(base_url, org.driver) as theirs,
        driver_socket(base_url, org.driver2) as others,
    ):
        grown = await org.dispatcher.patch(
            f"/api/v1/routes/{route}", json={"stops": stops_of(first, added, planned)}
        )
        assert grown.status_code == 200, grown.text
        heard = await update(theirs, "order_changed", order_id=added["id"])
        assert (heard["from_status"], heard["to_status"]) == ("created", "assigned")
        await update(theirs, "route_changed", route_id=route)
        assert await updates_before_pong(others) == []

    seen = await order_of(org.driver, added["id"])
    assert (seen["status"], seen["driver_id"]) == ("assigned", driver)
    [event] = await status_changes(org, added["id"])
    assert (event["from_status"], event["to_status"]) == ("created", "assigned")
    assert (event["actor_role"], event["details"]["driver_id"]) == ("dispatcher", driver)
    assert await driver_day(org, route) == {first["id"], added["id"], planned["id"]}
    theirs_today = await org.driver.get(
        "/api/v1/routes", params={"service_date": published.json()["service_date"]}
    )
    [their_route] = theirs_today.json()["items"]
    assert [s["order_id"] for s in their_route["stops"]] == [
        first["id"],
        added["id"],
        planned["id"],
    ]
    # The orders already on the route are not assigned a second time.
    for order in (first, planned):
        assert len(await status_changes(org, order["id"])) == 1

    # Taken off again, the stop leaves the driver's day; the order stays theirs, on no
    # route, until a dispatcher unassigns it or plans it elsewhere.
    shrunk = await org.dispatcher.patch(
        f"/api/v1/routes/{route}", json={"stops": stops_of(first, planned)}
    )
    assert shrunk.status_code == 200, shrunk.text
    assert await driver_day(org, route) == {first["id"], planned["id"]}
    kept = await order_of(org.dispatcher, added["id"])
    assert (kept["status"], kept["driver_id"]) == ("assigned", driver)
    assert kept["stops"][0]["route_id"] is None


async def test_another_drivers_order_added_to_a_published_route_is_refused(
    base_url: str, org: Org
) -> None:
    driver, other = org.driver_ids
    first, fresh, taken = [await create_order(org.dispatcher) for _ in range(3)]
    await assign(org.dispatcher, taken["id"], other)
    route = await published_route(org, driver, [first])
    before = await stop_ids(org.dispatcher, route)

    async with driver_socket(base_url, org.driver) as theirs:
        refused = await org.dispatcher.patch(
            f"/api/v1/routes/{route}", json={"stops": stops_of(first, fresh, taken)}
        )
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "orders_of_another_driver"
        assert error["details"]["order_ids"] == [taken["id"]]
        assert await updates_before_pong(theirs) == []  # nothing changed for them

    assert await stop_ids(org.dispatcher, route) == before
    for order in (fresh, taken):
        assert (await order_of(org.dispatcher, order["id"]))["stops"][0]["route_id"] is None
    assert (await order_of(org.dispatcher, fresh["id"]))["status"] == "created"
    assert await status_changes(org, fresh["id"]) == []
    assert (await org.driver.get(f"/api/v1/orders/{fresh['id']}")).status_code == 404
    assert (await order_of(org.dispatcher, taken["id"]))["driver_id"] == other
    assert await driver_day(org, route) == {first["id"]}


async def test_a_published_route_given_to_another_driver_takes_its_orders_along(
    base_url: str, org: Org
) -> None:
    driver, other = org.driver_ids
    first, second, off_route = [await create_order(org.dispatcher) for _ in range(3)]
    await assign(org.dispatcher, off_route["id"], driver)
    route = await published_route(org, driver, [first, second])
    assert await driver_day(org, route) == {first["id"], second["id"]}

    async with (
        driver_socket(base_url, org.driver) as was_theirs,
        driver_socket(base_url, org.driver2) as now_theirs,
    ):
        moved = await org.dispatcher.patch(f"/api/v1/routes/{route}", json={"driver_id": other})
        assert moved.status_code == 200, moved.text
        assert moved.json()["driver_id"] == other

        # The first driver hears each order leave them and reach the other driver, who
        # hears it arrive; both hear of the route.
        def heard(updates: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
            return {
                (
                    u["type"],
                    u.get("order_id", u.get("route_id")),
                    u.get("from_status"),
                    u.get("to_status"),
                )
                for u in updates
            }

        taken_back = {("order_changed", o["id"], "assigned", "created") for o in (first, second)}
        given = {("order_changed", o["id"], "created", "assigned") for o in (first, second)}
        route_changed = {("route_changed", route, None, None)}
        assert heard(await updates_before_pong(was_theirs)) == taken_back | given | route_changed
        assert heard(await updates_before_pong(now_theirs)) == given | route_changed

    for order in (first, second):
        seen = await order_of(org.driver2, order["id"])
        assert (seen["status"], seen["driver_id"]) == ("assigned", other)
        assert (await org.driver.get(f"/api/v1/orders/{order['id']}")).status_code == 404
        steps = [(e["from_status"], e["to_status"]) for e in await status_changes(org, order["id"])]
        assert steps == [("created", "assigned"), ("assigned", "created"), ("created", "assigned")]
    their_day = await org.driver2.get("/api/v1/orders", params={"route_id": route})
    assert {o["id"] for o in their_day.json()["items"]} == {first["id"], second["id"]}
    assert await driver_day(org, route) == set()
    # An order of the first driver's that is not on the route stays theirs.
    assert (await order_of(org.driver, off_route["id"]))["driver_id"] == driver


async def test_a_route_with_an_order_on_its_way_keeps_its_driver(base_url: str, org: Org) -> None:
    driver, other = org.driver_ids
    started, waiting = [await create_order(org.dispatcher) for _ in range(2)]
    route = await published_route(org, driver, [started, waiting])
    going = await org.driver.post(
        f"/api/v1/orders/{started['id']}/transitions", json={"to": "en_route"}
    )
    assert going.status_code == 200, going.text

    async with driver_socket(base_url, org.driver2) as others:
        refused = await org.dispatcher.patch(f"/api/v1/routes/{route}", json={"driver_id": other})
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "orders_on_their_way"
        assert error["details"]["order_ids"] == [started["id"]]
        assert f"orders [{started['id']}]" in error["message"]
        assert await updates_before_pong(others) == []

    assert (await org.dispatcher.get(f"/api/v1/routes/{route}")).json()["driver_id"] == driver
    assert (await order_of(org.dispatcher, waiting["id"]))["driver_id"] == driver
    assert len(await status_changes(org, waiting["id"])) == 1
    assert await driver_day(org, route) == {started["id"], waiting["id"]}
