"""Live dispatch over real HTTP: a new order is proposed into the running day where it adds
least, applied on request, never before a stop a driver is on the way to; auto-dispatch."""

from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx

from backend.auth.principal import Principal
from backend.config import Settings
from backend.db import create_engine, session_scope
from backend.optimization.dispatch import propose
from backend.routing.router import fallback_router
from shared.enums import Role
from tests.backend.optimization.test_optimizations_api import fleet
from tests.factories import Org, assign, create_order

# A line of stops along the harbour, west to east; the depot is west of them.
EAST = [(43.7330, 7.4180), (43.7345, 7.4220), (43.7360, 7.4260), (43.7375, 7.4300)]


def open_window() -> dict[str, str]:
    """A window open from an hour ago for ten hours, and at least until 02:00 after today
    (UTC): wide whatever the hour the tests run at (live dispatch plans today's routes,
    today being the server's UTC date), late evening included."""
    now = datetime.now(UTC)
    after_today = datetime.combine(now.date(), time(0), tzinfo=UTC) + timedelta(hours=26)
    return {
        "start": (now - timedelta(hours=1)).isoformat(),
        "end": max(now + timedelta(hours=10), after_today).isoformat(),
    }


def dropoff(lat: float, lng: float) -> dict[str, Any]:
    return {
        "address": "Monaco",
        "lat": lat,
        "lng": lng,
        "time_window": open_window(),
        "service_time_s": 60,
    }


async def route_with(
    org: Org, driver_id: int, points: list[tuple[float, float]], status: str
) -> tuple[int, list[int]]:
    """A route of new orders at ``points`` for ``driver_id``, in that order, set to ``status``."""
    orders = [await create_order(org.dispatcher, dropoff=dropoff(*p), weight_kg=1) for p in points]
    for order in orders:
        await assign(org.dispatcher, order["id"], driver_id)
    stop_ids = [o["stops"][0]["id"] for o in orders]
    created = await org.dispatcher.post(
        "/api/v1/routes",
        json={
            "driver_id": driver_id,
            "service_date": datetime.now(UTC).date().isoformat(),
            "stops": [{"stop_id": s} for s in stop_ids],
        },
    )
    assert created.status_code == 201, created.text
    route_id: int = created.json()["id"]
    moved = await org.dispatcher.patch(f"/api/v1/routes/{route_id}", json={"status": status})
    assert moved.status_code == 200, moved.text
    return route_id, stop_ids


async def place(client: httpx.AsyncClient, order_id: int, apply: bool = False) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/dispatch/placements", json={"order_id": order_id, "apply": apply}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def stops_of(client: httpx.AsyncClient, route_id: int) -> list[int]:
    route = (await client.get(f"/api/v1/routes/{route_id}")).json()
    return [s["id"] for s in route["stops"]]


async def test_a_new_order_is_proposed_then_applied_on_the_route_it_fits(org: Org) -> None:
    await fleet(org)
    east, east_stops = await route_with(
        org, org.driver_ids[0], [EAST[0], EAST[1], EAST[3]], "published"
    )
    far, _ = await route_with(org, org.driver_ids[1], [(43.7500, 7.4400)], "published")
    new = await create_order(org.dispatcher, dropoff=dropoff(*EAST[2]), weight_kg=1)
    new_stop = new["stops"][0]["id"]

    proposal = await place(org.dispatcher, new["id"])
    assert proposal["placed"] is True
    assert proposal["route_id"] == east
    assert proposal["driver_id"] == org.driver_ids[0]
    assert proposal["applied"] is False
    # between the stops it lies between; the others keep their order
    assert proposal["stop_ids"] == [east_stops[0], east_stops[1], new_stop, east_stops[2]]
    assert await stops_of(org.dispatcher, east) == east_stops  # nothing changed yet

    applied = await place(org.dispatcher, new["id"], apply=True)
    assert applied["applied"] is True
    assert await stops_of(org.dispatcher, east) == proposal["stop_ids"]
    route = (await org.dispatcher.get(f"/api/v1/routes/{east}")).json()
    arrivals = [s["planned_arrival_at"] for s in route["stops"]]
    assert None not in arrivals  # every stop still to do has a fresh planned arrival
    assert arrivals == sorted(arrivals)
    order = (await org.dispatcher.get(f"/api/v1/orders/{new['id']}")).json()
    assert order["status"] == "assigned"
    assert order["driver_id"] == org.driver_ids[0]
    assert far  # the other route was there to choose from

    again = await org.dispatcher.post("/api/v1/dispatch/placements", json={"order_id": new["id"]})
    assert again.status_code == 409  # already on a route


async def test_the_stop_a_driver_is_driving_to_never_moves(org: Org) -> None:
    await fleet(org)
    # The driver is on the way to the far-east stop first (odd, but theirs to drive).
    route, stops = await route_with(org, org.driver_ids[0], [EAST[3], EAST[0]], "in_progress")
    new = await create_order(org.dispatcher, dropoff=dropoff(*EAST[1]), weight_kg=1)
    proposal = await place(org.dispatcher, new["id"])
    assert proposal["route_id"] == route
    assert proposal["stop_ids"][0] == stops[0]  # locked: still first


async def test_auto_dispatch_places_what_fits_and_says_why_not_for_the_rest(org: Org) -> None:
    await fleet(org, capacity_kg=10)
    route, _ = await route_with(org, org.driver_ids[0], [EAST[0]], "published")
    light = [
        await create_order(org.dispatcher, dropoff=dropoff(*p), weight_kg=2) for p in EAST[1:3]
    ]
    heavy = await create_order(org.dispatcher, dropoff=dropoff(*EAST[3]), weight_kg=50)
    response = await org.dispatcher.post("/api/v1/dispatch/auto")
    assert response.status_code == 200, response.text
    results = {r["order_id"]: r for r in response.json()}
    for order in light:
        assert results[order["id"]]["applied"] is True
        assert results[order["id"]]["route_id"] == route
    assert results[heavy["id"]]["placed"] is False
    assert "capacity" in results[heavy["id"]]["reason"]
    route_stops = await stops_of(org.dispatcher, route)
    assert {o["stops"][0]["id"] for o in light} <= set(route_stops)


async def test_without_a_running_route_nothing_is_placed(org: Org) -> None:
    new = await create_order(org.dispatcher, dropoff=dropoff(*EAST[0]))
    proposal = await place(org.dispatcher, new["id"])
    assert proposal["placed"] is False
    assert "no published or running route" in proposal["reason"]
    missing = await org.dispatcher.post("/api/v1/dispatch/placements", json={"order_id": 10**9})
    assert missing.status_code == 404


async def test_with_auto_dispatch_on_a_new_order_lands_on_a_route_at_once(org: Org) -> None:
    assert (await org.dispatcher.get("/api/v1/organization")).json()["auto_dispatch"] is False
    await fleet(org)
    route, _ = await route_with(org, org.driver_ids[0], [EAST[0], EAST[3]], "published")
    manual = await create_order(org.dispatcher, dropoff=dropoff(*EAST[1]))
    assert manual["status"] == "created"  # off by default

    refused = await org.dispatcher.patch("/api/v1/organization", json={"auto_dispatch": True})
    assert refused.status_code == 403  # admins decide
    switched = await org.admin.patch("/api/v1/organization", json={"auto_dispatch": True})
    assert switched.status_code == 200, switched.text
    assert switched.json()["auto_dispatch"] is True

    placed = await create_order(org.dispatcher, dropoff=dropoff(*EAST[2]))
    assert placed["status"] == "assigned"
    assert placed["driver_id"] == org.driver_ids[0]
    assert placed["stops"][0]["id"] in await stops_of(org.dispatcher, route)
    collection = await create_order(
        org.dispatcher,
        dropoff=None,
        pickup={"address": "Monaco", "lat": 43.7350, "lng": 7.4200, "service_time_s": 60},
    )
    assert collection["status"] == "created"  # cannot be placed live: created all the same
    batch = await org.dispatcher.post(
        "/api/v1/orders/batch",
        json={"orders": [{"recipient_name": "B", "dropoff": dropoff(*EAST[1])}]},
    )
    assert batch.status_code == 201, batch.text
    assert batch.json()[0]["status"] == "assigned"


async def test_a_failed_delivery_is_placed_again_for_a_second_attempt(org: Org) -> None:
    await fleet(org)
    route, stops = await route_with(
        org, org.driver_ids[0], [EAST[0], EAST[1], EAST[3]], "in_progress"
    )
    first_order = (await org.dispatcher.get(f"/api/v1/routes/{route}")).json()["stops"][0][
        "order_id"
    ]
    for status in ("en_route", "failed"):
        moved = await org.dispatcher.post(
            f"/api/v1/orders/{first_order}/transitions",
            json={"to": status, "reason": "nobody home"},
        )
        assert moved.status_code == 200, moved.text
    proposal = await place(org.dispatcher, first_order, apply=True)
    assert proposal["placed"] is True
    assert proposal["route_id"] == route
    sequence = await stops_of(org.dispatcher, route)
    assert sequence.count(stops[0]) == 1  # visited again, once, later in the day
    assert sequence.index(stops[0]) > 0
    order = (await org.dispatcher.get(f"/api/v1/orders/{first_order}")).json()
    assert order["status"] == "assigned"
    assert order["stops"][0]["actual_departure_at"] is None
    events = (await org.dispatcher.get(f"/api/v1/orders/{first_order}/events")).json()
    assert "failed" in [e["to_status"] for e in events]  # the failed attempt stays on record


async def test_a_reported_delay_moves_the_drop_offs_it_would_make_late(org: Org) -> None:
    await fleet(org)
    soon = datetime.now(UTC) + timedelta(minutes=20)
    urgent_dropoff = {
        **dropoff(*EAST[3]),
        "time_window": {"start": datetime.now(UTC).isoformat(), "end": soon.isoformat()},
    }
    late_route, _ = await route_with(org, org.driver_ids[0], [EAST[0]], "published")
    urgent = await create_order(org.dispatcher, dropoff=urgent_dropoff, weight_kg=1)
    await assign(org.dispatcher, urgent["id"], org.driver_ids[0])
    stops = await stops_of(org.dispatcher, late_route)
    await org.dispatcher.patch(
        f"/api/v1/routes/{late_route}",
        json={"stops": [{"stop_id": s} for s in [*stops, urgent["stops"][0]["id"]]]},
    )
    other_route, _ = await route_with(org, org.driver_ids[1], [EAST[2]], "published")

    small = await org.driver.post(
        "/api/v1/dispatch/delays", json={"route_id": late_route, "minutes": 2}
    )
    assert small.status_code == 200, small.text
    assert small.json()["late_order_ids"] == []  # two minutes break nothing

    reported = await org.driver.post(
        "/api/v1/dispatch/delays", json={"route_id": late_route, "minutes": 60, "apply": True}
    )
    assert reported.status_code == 200, reported.text
    body = reported.json()
    assert body["late_order_ids"] == [urgent["id"]]
    [move] = body["moves"]
    assert move["route_id"] == other_route
    assert move["applied"] is False  # a driver reports; dispatch decides (auto-dispatch off)

    decided = await org.dispatcher.post(
        "/api/v1/dispatch/delays", json={"route_id": late_route, "minutes": 60, "apply": True}
    )
    assert decided.json()["moves"][0]["applied"] is True
    assert urgent["stops"][0]["id"] in await stops_of(org.dispatcher, other_route)
    assert urgent["stops"][0]["id"] not in await stops_of(org.dispatcher, late_route)
    order = (await org.dispatcher.get(f"/api/v1/orders/{urgent['id']}")).json()
    assert order["driver_id"] == org.driver_ids[1]

    not_theirs = await org.driver.post(
        "/api/v1/dispatch/delays", json={"route_id": other_route, "minutes": 5}
    )
    assert not_theirs.status_code == 404


async def test_a_soft_window_may_be_placed_late_live_a_hard_one_not(org: Org) -> None:
    await fleet(org)
    await route_with(org, org.driver_ids[0], [EAST[0]], "published")
    closed = {
        "start": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        "end": (datetime.now(UTC) - timedelta(minutes=30)).isoformat(),
    }
    hard = await create_order(org.dispatcher, dropoff={**dropoff(*EAST[1]), "time_window": closed})
    soft = await create_order(
        org.dispatcher, dropoff={**dropoff(*EAST[1]), "time_window": closed}, lateness_weight=1
    )
    assert (await place(org.dispatcher, hard["id"]))["placed"] is False
    assert (await place(org.dispatcher, soft["id"]))["placed"] is True


async def test_a_route_without_a_planned_end_takes_orders_late_in_the_evening(
    org: Org, settings: Settings
) -> None:
    """At 23:30 (UTC, the service day's clock) a route with no planned end still takes a
    new order: no default end of day is imposed on it."""
    await fleet(org)
    route, _ = await route_with(org, org.driver_ids[0], [EAST[0]], "published")
    late = datetime.combine(datetime.now(UTC).date(), time(23, 30), tzinfo=UTC)
    window = {"start": late.isoformat(), "end": (late + timedelta(hours=2)).isoformat()}
    new = await create_order(
        org.dispatcher, dropoff={**dropoff(*EAST[1]), "time_window": window}, weight_kg=1
    )
    engine = create_engine(settings.resolved_database_url)
    try:
        async with session_scope(engine) as session:
            staff = Principal(user_id=0, org_id=org.id, role=Role.DISPATCHER, driver_id=None)
            placement = await propose(
                session, fallback_router(settings), staff, new["id"], now=late
            )
    finally:
        await engine.dispose()
    assert placement.route_id == route, placement.reason


async def test_an_order_is_applied_to_a_route_whose_first_stops_are_delivered(org: Org) -> None:
    await fleet(org)
    route, stops = await route_with(org, org.driver_ids[0], [EAST[0], EAST[1]], "in_progress")
    first = (await org.dispatcher.get(f"/api/v1/routes/{route}")).json()["stops"][0]["order_id"]
    for to in ("en_route", "delivered"):
        moved = await org.driver.post(f"/api/v1/orders/{first}/transitions", json={"to": to})
        assert moved.status_code == 200, moved.text
    new = await create_order(org.dispatcher, dropoff=dropoff(*EAST[2]), weight_kg=1)
    applied = await place(org.dispatcher, new["id"], apply=True)
    assert applied["applied"] is True
    # The delivered stop keeps its place at the head of the day.
    assert await stops_of(org.dispatcher, route) == [*stops, new["stops"][0]["id"]]
