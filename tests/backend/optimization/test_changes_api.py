"""Assigning, reassigning and reordering over real HTTP: previewed with each stop's arrival
before and after and the windows it would miss, changed nowhere until applied, then
applied all at once and published to the drivers."""

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.backend.optimization.test_dispatch_api import EAST, dropoff, route_with, stops_of
from tests.backend.optimization.test_optimizations_api import fleet
from tests.factories import Org, create_order


async def change(org: Org, status: int = 200, **body: Any) -> dict[str, Any]:
    response = await org.dispatcher.post("/api/v1/dispatch/changes", json=body)
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


def route_of(answer: dict[str, Any], driver_id: int) -> dict[str, Any]:
    routes: list[dict[str, Any]] = answer["routes"]
    [found] = [r for r in routes if r["driver_id"] == driver_id]
    return found


async def order_of(org: Org, order_id: int) -> dict[str, Any]:
    response = await org.dispatcher.get(f"/api/v1/orders/{order_id}")
    found: dict[str, Any] = response.json()
    return found


async def test_an_order_given_to_a_driver_is_previewed_then_published(org: Org) -> None:
    await fleet(org)
    driver = org.driver_ids[0]
    route, stops = await route_with(org, driver, [EAST[0], EAST[1], EAST[3]], "published")
    new = await create_order(org.dispatcher, dropoff=dropoff(*EAST[2]), weight_kg=1)
    new_stop = new["stops"][0]["id"]

    preview = await change(org, order_ids=[new["id"]], driver_id=driver)
    assert preview["applied"] is False
    shown = route_of(preview, driver)
    assert shown["route_id"] == route
    # where it lies on the way; the others keep their order
    assert [s["stop_id"] for s in shown["stops"]] == [stops[0], stops[1], new_stop, stops[2]]
    assert [s["added"] for s in shown["stops"]] == [False, False, True, False]
    added = shown["stops"][2]
    assert added["eta_before"] is None
    assert added["eta_after"] is not None
    last = shown["stops"][3]  # reached later than before: one more stop on the way
    assert last["eta_after"] > last["eta_before"]
    assert shown["drive_s_after"] >= shown["drive_s_before"]
    assert shown["late_before"] == shown["late_after"] == 0
    assert await stops_of(org.dispatcher, route) == stops  # a preview changes nothing
    assert (await order_of(org, new["id"]))["status"] == "created"

    applied = await change(org, order_ids=[new["id"]], driver_id=driver, apply=True)
    assert applied["applied"] is True
    assert await stops_of(org.dispatcher, route) == [stops[0], stops[1], new_stop, stops[2]]
    order = await order_of(org, new["id"])
    assert (order["status"], order["driver_id"]) == ("assigned", driver)
    saved = (await org.dispatcher.get(f"/api/v1/routes/{route}")).json()
    arrivals = [s["planned_arrival_at"] for s in saved["stops"]]
    assert arrivals == [s["eta_after"] for s in route_of(applied, driver)["stops"]]
    # the driver sees it in their own app's view of the day
    mine = (await org.driver.get("/api/v1/routes", params={"driver_id": driver})).json()
    assert new_stop in [s["id"] for r in mine["items"] for s in r["stops"]]


async def test_reassigning_moves_the_order_from_one_driver_to_the_other(org: Org) -> None:
    await fleet(org)
    first, second = org.driver_ids
    route_a, stops_a = await route_with(org, first, [EAST[0], EAST[1]], "published")
    route_b, stops_b = await route_with(org, second, [EAST[2], EAST[3]], "published")
    moving = (await org.dispatcher.get(f"/api/v1/routes/{route_a}")).json()["stops"][1]

    preview = await change(org, order_ids=[moving["order_id"]], driver_id=second)
    assert [s["stop_id"] for s in route_of(preview, first)["removed"]] == [stops_a[1]]
    assert [s["stop_id"] for s in route_of(preview, first)["stops"]] == [stops_a[0]]
    taken = [s["stop_id"] for s in route_of(preview, second)["stops"]]
    assert sorted(taken) == sorted([*stops_b, stops_a[1]])

    await change(org, order_ids=[moving["order_id"]], driver_id=second, apply=True)
    assert await stops_of(org.dispatcher, route_a) == [stops_a[0]]
    assert await stops_of(org.dispatcher, route_b) == taken
    assert (await order_of(org, moving["order_id"]))["driver_id"] == second
    # the second driver now sees the order; the first no longer may
    assert (await org.driver2.get(f"/api/v1/orders/{moving['order_id']}")).status_code == 200
    assert (await org.driver.get(f"/api/v1/orders/{moving['order_id']}")).status_code == 404


async def test_reordering_shows_the_window_it_would_miss(org: Org) -> None:
    await fleet(org)
    driver = org.driver_ids[0]
    now = datetime.now(UTC)
    urgent = {
        **dropoff(*EAST[0]),
        "time_window": {"start": now.isoformat(), "end": (now + timedelta(minutes=30)).isoformat()},
    }
    slow = {**dropoff(*EAST[3]), "service_time_s": 3600}  # an hour's unloading
    orders = [await create_order(org.dispatcher, dropoff=d, weight_kg=1) for d in (urgent, slow)]
    stop_ids = [o["stops"][0]["id"] for o in orders]
    await change(
        org, sequences=[{"driver_id": driver, "stop_ids": stop_ids}], apply=True
    )  # a new route for the day, published
    routes = (await org.dispatcher.get("/api/v1/routes", params={"driver_id": driver})).json()
    [route] = routes["items"]
    assert route["status"] == "published"
    assert [s["id"] for s in route["stops"]] == stop_ids

    swapped = await change(org, sequences=[{"driver_id": driver, "stop_ids": stop_ids[::-1]}])
    shown = route_of(swapped, driver)
    assert (shown["late_before"], shown["late_after"]) == (0, 1)
    late = {s["stop_id"]: s["late_after_s"] for s in shown["stops"]}
    assert late[stop_ids[0]] is not None
    assert late[stop_ids[0]] > 20 * 60
    assert late[stop_ids[1]] is None
    assert await stops_of(org.dispatcher, route["id"]) == stop_ids  # only previewed


async def test_a_failed_delivery_goes_to_another_driver_for_a_second_attempt(org: Org) -> None:
    await fleet(org)
    first, second = org.driver_ids
    route_a, _stops_a = await route_with(org, first, [EAST[0], EAST[1]], "in_progress")
    failed = (await org.dispatcher.get(f"/api/v1/routes/{route_a}")).json()["stops"][0]
    for status in ("en_route", "failed"):
        moved = await org.dispatcher.post(
            f"/api/v1/orders/{failed['order_id']}/transitions",
            json={"to": status, "reason": "nobody home"},
        )
        assert moved.status_code == 200, moved.text
    await change(org, order_ids=[failed["order_id"]], driver_id=second, apply=True)
    order = await order_of(org, failed["order_id"])
    assert (order["status"], order["driver_id"]) == ("assigned", second)
    assert failed["id"] not in await stops_of(org.dispatcher, route_a)
    theirs = (await org.driver2.get("/api/v1/routes")).json()["items"]
    assert [[s["id"] for s in r["stops"]] for r in theirs] == [[failed["id"]]]
    assert theirs[0]["status"] == "published"


async def test_bad_changes_are_refused_and_change_nothing(org: Org) -> None:
    await fleet(org)
    first, second = org.driver_ids
    route, stops = await route_with(org, first, [EAST[0], EAST[1]], "in_progress")
    new = await create_order(org.dispatcher, dropoff=dropoff(*EAST[2]), weight_kg=1)

    no_driver = await change(org, 422, order_ids=[new["id"]])
    assert "driver_id" in no_driver["error"]["message"]
    # the stop being driven to keeps its place
    locked = await change(
        org, 409, sequences=[{"driver_id": first, "stop_ids": [stops[1], stops[0]]}]
    )
    assert f"stop {stops[0]}" in locked["error"]["message"]
    missing = await change(org, 400, sequences=[{"driver_id": first, "stop_ids": [999_999]}])
    assert "999999" in missing["error"]["message"]
    await change(org, 404, order_ids=[new["id"]], driver_id=999_999)
    await change(org, 404, order_ids=[999_999], driver_id=second)
    twice = await change(
        org,
        400,
        sequences=[
            {"driver_id": first, "stop_ids": [stops[1]]},
            {"driver_id": second, "stop_ids": [stops[1]]},
        ],
    )
    assert "twice" in twice["error"]["message"]
    delivered = (await org.dispatcher.get(f"/api/v1/routes/{route}")).json()["stops"][0]
    for status in ("en_route", "delivered"):
        moved = await org.dispatcher.post(
            f"/api/v1/orders/{delivered['order_id']}/transitions", json={"to": status}
        )
        assert moved.status_code == 200, moved.text
    done = await change(org, 409, order_ids=[delivered["order_id"]], driver_id=second, apply=True)
    assert "delivered" in done["error"]["message"]
    assert await stops_of(org.dispatcher, route) == stops
    assert (await order_of(org, new["id"]))["status"] == "created"
    # drivers do not dispatch
    refused = await org.driver.post(
        "/api/v1/dispatch/changes", json={"order_ids": [new["id"]], "driver_id": first}
    )
    assert refused.status_code == 403
