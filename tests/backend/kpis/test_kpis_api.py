"""GET /api/v1/kpis on a small real day: on time or late, a failure then a delivery, a
route with a driven GPS track, and customers opening their tracking pages."""

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from shared.geo import Point, haversine_m
from tests.factories import Org, create_order, window

PLACES = [(43.7402, 7.4276), (43.7310, 7.4200), (43.7380, 7.4240)]


def midday_zone(now: datetime) -> str:
    """A fixed-offset zone where it is about noon now: the test's day never straddles a
    local midnight, whenever it runs."""
    offset = 12 - now.hour
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


async def order_at(org: Org, place: tuple[float, float], slot: dict[str, str]) -> int:
    lat, lng = place
    dropoff = {"address": f"{lat}, {lng}", "lat": lat, "lng": lng, "time_window": slot}
    order = await create_order(org.dispatcher, dropoff=dropoff)
    order_id: int = order["id"]
    return order_id


async def move(client: httpx.AsyncClient, order_id: int, *steps: dict[str, Any]) -> None:
    for body in steps:
        response = await client.post(f"/api/v1/orders/{order_id}/transitions", json=body)
        assert response.status_code == 200, response.text


async def kpis(client: httpx.AsyncClient, **params: str) -> httpx.Response:
    return await client.get("/api/v1/kpis", params=params)


@pytest.fixture
async def day(org: Org) -> dict[str, Any]:
    """Driver 1's day: three deliveries (one late, one failed first), a published route
    through them, an hour of GPS track, and tracking pages opened."""
    now = datetime.now(UTC)
    driver = org.driver_ids[0]
    on_time = await order_at(org, PLACES[0], window(-1, 2))
    late = await order_at(org, PLACES[1], window(-4, 2))
    second_go = await order_at(org, PLACES[2], window(-1, 2))
    stops = []
    for order_id in (on_time, late, second_go):
        await move(org.dispatcher, order_id, {"to": "assigned", "driver_id": driver})
        order = (await org.dispatcher.get(f"/api/v1/orders/{order_id}")).json()
        stops.append({"stop_id": order["stops"][0]["id"]})
    today = now.astimezone(ZoneInfo(midday_zone(now))).date()
    route = await org.dispatcher.post(
        "/api/v1/routes",
        json={"driver_id": driver, "service_date": today.isoformat(), "stops": stops},
    )
    assert route.status_code == 201, route.text
    published = await org.dispatcher.patch(
        f"/api/v1/routes/{route.json()['id']}", json={"status": "published"}
    )
    assert published.status_code == 200, published.text

    # An hour on the road before the stops, 2 minutes and ~330 m between fixes, away from
    # the drop-offs (no geofence moves the orders meanwhile).
    track = [Point(43.70, 7.26 + 0.004 * k) for k in range(30)]
    fixes = [
        {
            "lat": p.lat,
            "lng": p.lng,
            "recorded_at": (now - timedelta(minutes=60 - 2 * k)).isoformat(),
        }
        for k, p in enumerate(track)
    ]
    sent = await org.driver.post("/api/v1/drivers/me/locations", json={"fixes": fixes})
    assert sent.status_code == 200, sent.text
    assert sent.json()["accepted"] == 30, sent.text

    for order_id in (on_time, late):
        await move(org.driver, order_id, {"to": "en_route"}, {"to": "delivered"})
    await move(org.driver, second_go, {"to": "en_route"})
    failed = await org.driver.post(
        f"/api/v1/orders/{second_go}/failure",
        data={"client_id": uuid.uuid4().hex, "reason": "not_home"},
    )
    assert failed.status_code == 201, failed.text
    status = (await org.dispatcher.get(f"/api/v1/orders/{second_go}")).json()["status"]
    if status != "assigned":  # the follow-up put it back on the driver's route (today)
        await move(org.dispatcher, second_go, {"to": "assigned", "driver_id": driver})
    await move(org.driver, second_go, {"to": "en_route"}, {"to": "delivered"})

    # Customers: order 1's page opened from two devices (one re-reads it twice more),
    # order 2's from one.
    tokens = []
    for order_id in (on_time, late):
        link = await org.dispatcher.post(f"/api/v1/orders/{order_id}/tracking-links", json={})
        tokens.append(link.json()["token"])
    async with httpx.AsyncClient(base_url=str(org.dispatcher.base_url)) as customer:
        for token, device in (
            (tokens[0], "10.1.0.1"),
            (tokens[0], "10.1.0.2"),
            (tokens[1], "10.1.0.3"),
        ):
            for _ in range(3 if device == "10.1.0.1" else 1):
                seen = await customer.get(
                    f"/api/v1/track/{token}", headers={"X-Forwarded-For": device}
                )
                assert seen.status_code == 200, seen.text
    planned = await org.dispatcher.post(
        "/api/v1/routing/route",
        json={"waypoints": [{"lat": lat, "lng": lng} for lat, lng in PLACES]},
    )
    assert planned.status_code == 200, planned.text
    return {
        "tz": midday_zone(now),
        "today": today,
        "on_time": on_time,
        "planned_m": planned.json()["distance_m"],
        "planned_estimated": planned.json()["estimated"],
        "driven_m": sum(haversine_m(a, b) for a, b in itertools.pairwise(track)),
    }


async def test_the_days_figures(org: Org, day: dict[str, Any]) -> None:
    response = await kpis(org.dispatcher, tz=day["tz"])  # today by default
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["date_from"] == body["date_to"] == day["today"].isoformat()
    (today,) = body["days"]
    assert today["day"] == day["today"].isoformat()
    # Delivered: two inside their window, one two hours late.
    assert (today["delivered"], today["delivered_with_window"], today["on_time"]) == (3, 3, 2)
    assert today["on_time_rate"] == pytest.approx(2 / 3)
    # First attempts: the third order failed first, then was delivered.
    assert (today["first_attempts"], today["first_attempt_successes"]) == (3, 2)
    assert today["first_attempt_rate"] == pytest.approx(2 / 3)
    # Stops: 3 deliveries and 1 failure over the hour from the first fix to the last stop.
    assert today["attempts"] == 4
    assert 1.0 <= today["driver_hours"] <= 1.1
    assert today["stops_per_driver_hour"] == pytest.approx(4 / today["driver_hours"], rel=1e-3)
    # Distance: the route through its three stops, and the hour's track.
    assert today["routes"] == 1
    assert today["planned_distance_m"] == pytest.approx(day["planned_m"], abs=0.5)
    assert body["distance_estimated"] == day["planned_estimated"]
    assert today["actual_distance_m"] == pytest.approx(day["driven_m"], abs=0.1)
    # Tracking pages: three visits (the re-reads are the same visit) about two orders.
    assert (today["track_views"], today["viewed_orders"]) == (3, 2)
    assert today["views_per_order"] == pytest.approx(1.5)
    assert body["most_viewed"][0]["order_id"] == day["on_time"]
    assert body["most_viewed"][0]["views"] == 2
    assert body["totals"]["on_time_rate"] == pytest.approx(2 / 3)
    assert body["notes"]


async def test_a_week_has_a_figure_per_day_and_the_totals_of_them(
    org: Org, day: dict[str, Any], stranger: Org
) -> None:
    start = day["today"] - timedelta(days=6)
    response = await kpis(
        org.dispatcher, date_from=start.isoformat(), date_to=day["today"].isoformat(), tz=day["tz"]
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [d["day"] for d in body["days"]] == [
        (start + timedelta(days=i)).isoformat() for i in range(7)
    ]
    assert [d["delivered"] for d in body["days"]] == [0, 0, 0, 0, 0, 0, 3]
    assert body["days"][0]["on_time_rate"] is None  # nothing delivered: no rate
    assert body["totals"]["delivered"] == 3
    assert body["totals"]["track_views"] == 3
    assert body["totals"]["viewed_orders"] == 2
    # Another organisation's figures hold nothing of this one.
    other = (await kpis(stranger.dispatcher, tz=day["tz"])).json()
    assert other["totals"]["delivered"] == 0
    assert other["totals"]["track_views"] == 0


async def test_bad_ranges_and_roles_are_refused_with_the_reason(org: Org) -> None:
    zone = await kpis(org.dispatcher, tz="Mars/Olympus_Mons")
    assert zone.status_code == 422
    assert "unknown time zone" in zone.json()["error"]["message"]
    backwards = await kpis(org.dispatcher, date_from="2026-03-02", date_to="2026-03-01")
    assert backwards.status_code == 422
    assert "before date_from" in backwards.json()["error"]["message"]
    long = await kpis(org.dispatcher, date_from="2026-01-01", date_to="2026-12-31")
    assert long.status_code == 422
    assert "at most 92 days" in long.json()["error"]["message"]
    assert (await kpis(org.dispatcher, date_from="March")).status_code == 422
    assert (await kpis(org.driver)).status_code == 403
