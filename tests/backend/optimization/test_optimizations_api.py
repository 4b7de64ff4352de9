"""Planning a day over real HTTP: a job with progress, draft routes a dispatcher can read,
orders left out with their reason, cancellation, and refusals that say what is wrong."""

import asyncio
import random
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from tests.factories import Org, create_order


async def fleet(org: Org, capacity_kg: float = 40) -> int:
    """A depot in Monaco; both drivers of ``org`` get a van based there. Returns the depot."""
    depot = await org.admin.post(
        "/api/v1/depots", json={"name": "Fontvieille", "lat": 43.7290, "lng": 7.4160}
    )
    assert depot.status_code == 201, depot.text
    depot_id: int = depot.json()["id"]
    for k, driver_id in enumerate(org.driver_ids):
        van = await org.admin.post(
            "/api/v1/vehicles",
            json={"name": f"VAN-{k}", "capacity_weight_kg": capacity_kg, "depot_id": depot_id},
        )
        assert van.status_code == 201, van.text
        linked = await org.admin.patch(
            f"/api/v1/drivers/{driver_id}", json={"vehicle_id": van.json()["id"]}
        )
        assert linked.status_code == 200, linked.text
    return depot_id


def utc_today() -> date:
    """The day to plan: today as the server counts days (UTC). Read once per test, so the
    orders' windows and the planned day agree even if midnight passes in between
    (``date.today()`` is this machine's local date: another day around midnight off UTC)."""
    return datetime.now(UTC).date()


def day_window(day: date, start_h: float, end_h: float) -> dict[str, str]:
    """A window on ``day``, from ``start_h`` to ``end_h`` hours after its midnight (UTC)."""
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    return {
        "start": (midnight + timedelta(hours=start_h)).isoformat(),
        "end": (midnight + timedelta(hours=end_h)).isoformat(),
    }


async def orders(org: Org, count: int, day: date, **overrides: Any) -> list[dict[str, Any]]:
    """``count`` orders around Monaco, each open 09:00-17:00 UTC on ``day``."""
    rng = random.Random(count)
    made = []
    for _ in range(count):
        dropoff = {
            "address": "Monaco",
            "lat": 43.730 + rng.uniform(0, 0.015),
            "lng": 7.415 + rng.uniform(0, 0.015),
            "time_window": day_window(day, 9, 17),
            "service_time_s": 120,
        }
        made.append(await create_order(org.dispatcher, dropoff=dropoff, **overrides))
    return made


async def wait(client: httpx.AsyncClient, job_id: str, within_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    while True:
        job: dict[str, Any] = (await client.get(f"/api/v1/optimizations/{job_id}")).json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.2)


async def test_a_day_is_planned_into_draft_routes(org: Org) -> None:
    day = utc_today()
    await fleet(org)
    planned = await orders(org, 12, day, weight_kg=5)
    too_heavy = await create_order(org.dispatcher, weight_kg=90)  # over any van's 40 kg
    started = await org.dispatcher.post(
        "/api/v1/optimizations", json={"service_date": day.isoformat(), "time_budget_s": 2}
    )
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["status"] in ("queued", "running")
    assert job["order_count"] == 13
    assert job["driver_count"] == 2

    seen_running = False
    deadline = time.monotonic() + 30
    while job["status"] not in ("done", "failed", "cancelled"):
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.2)
        job = (await org.dispatcher.get(f"/api/v1/optimizations/{job['id']}")).json()
        seen_running |= job["status"] == "running" and 0 <= job["percent"] < 100
    assert job["status"] == "done", job
    assert seen_running
    assert job["percent"] == 100
    assert job["best"]["served"] == 12
    assert job["unassigned"] == [{"order_id": too_heavy["id"], "reason": "over_capacity"}]

    routed: set[int] = set()
    for route_id in job["route_ids"]:
        route = (await org.dispatcher.get(f"/api/v1/routes/{route_id}")).json()
        assert route["status"] == "draft"
        arrivals = [s["planned_arrival_at"] for s in route["stops"]]
        assert arrivals == sorted(arrivals)
        for stop in route["stops"]:
            routed.add(stop["order_id"])
            window = next(o for o in planned if o["id"] == stop["order_id"])["stops"][0]
            assert stop["planned_arrival_at"] <= window["window_end"]
    assert routed == {o["id"] for o in planned}

    # Planned orders are on routes now: a second plan has nothing but the heavy one.
    again = await org.dispatcher.post(
        "/api/v1/optimizations",
        json={"service_date": day.isoformat(), "time_budget_s": 0.5},
    )
    assert again.status_code == 202, again.text
    assert again.json()["order_count"] == 1


async def test_a_running_plan_can_be_cancelled(org: Org) -> None:
    day = utc_today()
    await fleet(org)
    await orders(org, 6, day)
    started = await org.dispatcher.post(
        "/api/v1/optimizations",
        json={"service_date": day.isoformat(), "time_budget_s": 120},
    )
    job_id = started.json()["id"]
    await asyncio.sleep(1.0)
    cancelled = await org.dispatcher.post(f"/api/v1/optimizations/{job_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    job = await wait(org.dispatcher, job_id, 10)
    assert job["status"] == "cancelled"
    assert job["route_ids"] == []
    again = await org.dispatcher.post(f"/api/v1/optimizations/{job_id}/cancel")
    assert again.status_code == 409


async def test_bad_requests_say_what_is_wrong(org: Org, stranger: Org) -> None:
    today = utc_today().isoformat()
    no_depot = await org.dispatcher.post("/api/v1/optimizations", json={"service_date": today})
    assert no_depot.status_code == 400
    assert "depot" in no_depot.json()["error"]["message"]
    await fleet(org)
    nothing = await org.dispatcher.post("/api/v1/optimizations", json={"service_date": today})
    assert nothing.status_code == 400
    assert "nothing to plan" in nothing.json()["error"]["message"]
    unknown = await org.dispatcher.post(
        "/api/v1/optimizations", json={"service_date": today, "order_ids": [10**9]}
    )
    assert unknown.status_code == 400
    assert "order_ids" in unknown.json()["error"]["message"]
    bad = await org.dispatcher.post(
        "/api/v1/optimizations", json={"service_date": today, "time_budget_s": 0}
    )
    assert bad.status_code == 422
    assert (
        await org.driver.post("/api/v1/optimizations", json={"service_date": today})
    ).status_code == 403
    missing = await stranger.dispatcher.get("/api/v1/optimizations/not-a-job")
    assert missing.status_code == 404


async def test_skills_send_an_order_to_the_van_that_has_them(org: Org) -> None:
    depot = await fleet(org)
    cold_van = await org.admin.post(
        "/api/v1/vehicles", json={"name": "COLD", "skills": ["fridge"], "depot_id": depot}
    )
    assert cold_van.status_code == 201, cold_van.text
    await org.admin.patch(
        f"/api/v1/drivers/{org.driver_ids[1]}", json={"vehicle_id": cold_van.json()["id"]}
    )
    day = utc_today()
    plain = await orders(org, 3, day)
    # A window on the planned day, whatever the hour the suite runs at (the factory's default
    # is "in an hour", which falls on tomorrow late in the evening).
    today = {**dropoff_at(43.7380, 7.4220), "time_window": day_window(day, 9, 17)}
    cold = await create_order(org.dispatcher, dropoff=today, required_skills=["fridge"])
    assert cold["required_skills"] == ["fridge"]
    checked = await create_order(  # nobody has the skill
        org.dispatcher, dropoff=today, required_skills=["id_check"]
    )
    collect = await create_order(
        org.dispatcher,
        dropoff=None,
        pickup={"address": "Monaco", "lat": 43.7350, "lng": 7.4200, "service_time_s": 60},
    )
    started = await org.dispatcher.post(
        "/api/v1/optimizations",
        json={"service_date": day.isoformat(), "time_budget_s": 1},
    )
    assert started.status_code == 202, started.text
    job = await wait(org.dispatcher, started.json()["id"], 30)
    assert job["status"] == "done", job
    assert job["engine"] == "ortools"  # skills: only OR-Tools expresses them
    assert job["unassigned"] == [{"order_id": checked["id"], "reason": "no_vehicle_with_skills"}]
    where: dict[int, int] = {}
    for route_id in job["route_ids"]:
        route = (await org.dispatcher.get(f"/api/v1/routes/{route_id}")).json()
        for stop in route["stops"]:
            where[stop["order_id"]] = route["driver_id"]
    assert where[cold["id"]] == org.driver_ids[1]
    assert {o["id"] for o in plain} | {collect["id"]} <= set(where)


async def test_soft_windows_and_breaks_are_planned_on_the_engine_that_expresses_them(
    org: Org,
) -> None:
    day = utc_today()
    await fleet(org)
    early = day_window(day, 6, 6.01)  # closes 36 s after the shift starts: nobody gets there
    hard = await create_order(
        org.dispatcher, dropoff={**dropoff_at(43.7400, 7.4300), "time_window": early}
    )
    soft = await create_order(
        org.dispatcher,
        dropoff={**dropoff_at(43.7400, 7.4300), "time_window": early},
        lateness_weight=2,
    )
    assert soft["lateness_weight"] == 2
    started = await org.dispatcher.post(
        "/api/v1/optimizations",
        json={
            "service_date": day.isoformat(),
            "time_budget_s": 1,
            "break_minutes": 30,
        },
    )
    assert started.status_code == 202, started.text
    job = await wait(org.dispatcher, started.json()["id"], 30)
    assert job["status"] == "done", job
    assert job["engine"] == "ortools"
    assert job["unassigned"] == [{"order_id": hard["id"], "reason": "window_unreachable"}]
    [route_id] = job["route_ids"]
    route = (await org.dispatcher.get(f"/api/v1/routes/{route_id}")).json()
    [stop] = route["stops"]
    assert stop["order_id"] == soft["id"]
    assert stop["planned_arrival_at"] > soft["stops"][0]["window_end"]  # late, at a cost

    bad = await org.dispatcher.post(
        "/api/v1/optimizations",
        json={"service_date": day.isoformat(), "break_minutes": 500},
    )
    assert bad.status_code == 422


def dropoff_at(lat: float, lng: float) -> dict[str, Any]:
    return {"address": "Monaco", "lat": lat, "lng": lng, "service_time_s": 60}
