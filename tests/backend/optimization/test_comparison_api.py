"""A finished plan against the day's current plan over real HTTP, then published at once."""

from typing import Any

from tests.backend.optimization.test_optimizations_api import (
    day_window,
    dropoff_at,
    fleet,
    orders,
    utc_today,
    wait,
)
from tests.factories import Org, assign, create_order


async def a_published_route(org: Org, stop_ids: list[int]) -> dict[str, Any]:
    made = await org.dispatcher.post(
        "/api/v1/routes",
        json={
            "driver_id": org.driver_ids[0],
            "service_date": utc_today().isoformat(),
            "stops": [{"stop_id": s} for s in stop_ids],
        },
    )
    assert made.status_code == 201, made.text
    published = await org.dispatcher.patch(
        f"/api/v1/routes/{made.json()['id']}", json={"status": "published"}
    )
    assert published.status_code == 200, published.text
    body: dict[str, Any] = published.json()
    return body


async def test_a_plan_is_compared_with_the_current_one_then_published(
    org: Org, stranger: Org
) -> None:
    day = utc_today()
    await fleet(org)
    # The current plan: one published route whose second stop closed at 06:00, before
    # anyone leaves the depot (routes leave at 06:00 by default).
    early = {**dropoff_at(43.7400, 7.4300), "time_window": day_window(day, 5, 6)}
    on_time = {**dropoff_at(43.7350, 7.4200), "time_window": day_window(day, 6, 20)}
    kept = [
        await create_order(org.dispatcher, dropoff=on_time),
        await create_order(org.dispatcher, dropoff=early),
    ]
    current = await a_published_route(org, [o["stops"][0]["id"] for o in kept])
    waiting = await orders(org, 6, day, weight_kg=5)
    too_heavy = await create_order(
        org.dispatcher,
        dropoff={**dropoff_at(43.7380, 7.4220), "time_window": day_window(day, 9, 17)},
        weight_kg=90,
    )

    started = await org.dispatcher.post(
        "/api/v1/optimizations", json={"service_date": day.isoformat(), "time_budget_s": 1}
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    not_yet = await org.dispatcher.get(f"/api/v1/optimizations/{job_id}/comparison")
    assert not_yet.status_code == 409  # queued or running: nothing to compare yet
    early_publish = await org.dispatcher.post(f"/api/v1/optimizations/{job_id}/publish")
    assert early_publish.status_code == 409
    job = await wait(org.dispatcher, job_id, 30)
    assert job["status"] == "done", job

    answer = await org.dispatcher.get(f"/api/v1/optimizations/{job_id}/comparison")
    assert answer.status_code == 200, answer.text
    compared = answer.json()
    assert compared["optimization_id"] == job_id
    assert compared["service_date"] == day.isoformat()
    now, proposal = compared["current"], compared["proposal"]
    assert now["routes"] == 1
    assert now["stops"] == 2
    assert now["late_stops"] == 1
    assert now["late_order_ids"] == [kept[1]["id"]]
    assert now["distance_m"] > 0
    assert abs(now["working_s"] - (now["drive_s"] + 60 * 2)) <= 1  # 2 stops served, no wait
    left_out = sorted([o["id"] for o in waiting] + [too_heavy["id"]])
    assert now["unassigned"] == [{"order_id": o, "reason": "not on any route"} for o in left_out]

    # The proposal is the day once published: the route drivers have plus the drafts.
    assert proposal["routes"] == 1 + len(job["route_ids"]) >= 2
    assert proposal["stops"] == 2 + 6
    assert proposal["late_stops"] == 1  # the current route's early stop is still late
    assert proposal["late_order_ids"] == [kept[1]["id"]]
    assert proposal["distance_m"] > now["distance_m"]
    assert proposal["drive_s"] > now["drive_s"]
    assert proposal["unassigned"] == [{"order_id": too_heavy["id"], "reason": "over_capacity"}]

    # Others may not read it; drivers may not either.
    hidden = await stranger.dispatcher.get(f"/api/v1/optimizations/{job_id}/comparison")
    assert hidden.status_code == 404
    driver = await org.driver.get(f"/api/v1/optimizations/{job_id}/comparison")
    assert driver.status_code == 403
    assert (await org.driver.post(f"/api/v1/optimizations/{job_id}/publish")).status_code == 403

    published = await org.dispatcher.post(f"/api/v1/optimizations/{job_id}/publish")
    assert published.status_code == 200, published.text
    assert published.json() == {"optimization_id": job_id, "route_ids": sorted(job["route_ids"])}
    for route_id in job["route_ids"]:
        route = (await org.dispatcher.get(f"/api/v1/routes/{route_id}")).json()
        assert route["status"] == "published"
        # Its orders are now its driver's, and their timeline says so.
        for stop in route["stops"]:
            order = (await org.dispatcher.get(f"/api/v1/orders/{stop['order_id']}")).json()
            assert (order["status"], order["driver_id"]) == ("assigned", route["driver_id"])
            events = await org.dispatcher.get(f"/api/v1/orders/{stop['order_id']}/events")
            [moved] = [e for e in events.json() if e["kind"] == "status_changed"]
            assert (moved["from_status"], moved["to_status"]) == ("created", "assigned")
            assert moved["details"]["driver_id"] == route["driver_id"]
    assert {o["id"] for o in await on_routes(org, job["route_ids"])} == {o["id"] for o in waiting}
    heavy = (await org.dispatcher.get(f"/api/v1/orders/{too_heavy['id']}")).json()
    assert heavy["status"] == "created"  # left out of the plan: still waiting
    # The route the driver already had is left as it was.
    still = (await org.dispatcher.get(f"/api/v1/routes/{current['id']}")).json()
    assert still["status"] == "published"
    assert [s["order_id"] for s in still["stops"]] == [o["id"] for o in kept]

    twice = await org.dispatcher.post(f"/api/v1/optimizations/{job_id}/publish")
    assert twice.status_code == 409
    assert "not drafts" in twice.json()["error"]["message"]

    # After publishing, what the plan routed is part of the day: the driver sees it.
    mine = await org.driver.get(
        "/api/v1/routes", params={"service_date": day.isoformat(), "status": "published"}
    )
    assert mine.status_code == 200, mine.text
    assert {r["driver_id"] for r in mine.json()["items"]} == {org.driver_ids[0]}


async def on_routes(org: Org, route_ids: list[int]) -> list[dict[str, Any]]:
    """The orders with a stop on ``route_ids``."""
    found = []
    for route_id in route_ids:
        route = (await org.dispatcher.get(f"/api/v1/routes/{route_id}")).json()
        for stop in route["stops"]:
            found.append((await org.dispatcher.get(f"/api/v1/orders/{stop['order_id']}")).json())
    return found


async def test_publishing_is_all_or_nothing(org: Org) -> None:
    day = utc_today()
    await fleet(org)
    await orders(org, 8, day)
    started = await org.dispatcher.post(
        "/api/v1/optimizations",
        json={"service_date": day.isoformat(), "time_budget_s": 0.5, "max_stops_per_route": 4},
    )
    job = await wait(org.dispatcher, started.json()["id"], 30)
    assert job["status"] == "done", job
    first, *others = sorted(job["route_ids"])
    assert others, job  # four stops a route at most: two routes
    # Someone publishes one of the drafts by hand: publishing the plan refuses and
    # leaves the other drafts as they were.
    by_hand = await org.dispatcher.patch(f"/api/v1/routes/{first}", json={"status": "published"})
    assert by_hand.status_code == 200, by_hand.text
    refused = await org.dispatcher.post(f"/api/v1/optimizations/{job['id']}/publish")
    assert refused.status_code == 409
    assert str(first) in refused.json()["error"]["message"]
    for route_id in others:
        route = (await org.dispatcher.get(f"/api/v1/routes/{route_id}")).json()
        assert route["status"] == "draft"
    assert {o["status"] for o in await on_routes(org, others)} == {"created"}


async def test_a_plan_whose_order_another_driver_took_meanwhile_is_not_published(
    org: Org,
) -> None:
    day = utc_today()
    await fleet(org)
    await orders(org, 8, day)
    started = await org.dispatcher.post(
        "/api/v1/optimizations",
        json={"service_date": day.isoformat(), "time_budget_s": 0.5, "max_stops_per_route": 4},
    )
    job = await wait(org.dispatcher, started.json()["id"], 30)
    assert job["status"] == "done", job
    route_ids = sorted(job["route_ids"])
    last = (await org.dispatcher.get(f"/api/v1/routes/{route_ids[-1]}")).json()
    # Meanwhile, one of the last draft's orders is given by hand to the other driver.
    stranger = next(d for d in org.driver_ids if d != last["driver_id"])
    taken = last["stops"][0]["order_id"]
    await assign(org.dispatcher, taken, stranger)

    refused = await org.dispatcher.post(f"/api/v1/optimizations/{job['id']}/publish")
    assert refused.status_code == 409, refused.text
    assert str(taken) in refused.json()["error"]["message"]
    for route_id in route_ids:  # none published, not even the drafts before it
        route = (await org.dispatcher.get(f"/api/v1/routes/{route_id}")).json()
        assert route["status"] == "draft"
    left = {o["id"]: o for o in await on_routes(org, route_ids)}
    assert left.pop(taken)["driver_id"] == stranger
    assert {o["status"] for o in left.values()} == {"created"}
