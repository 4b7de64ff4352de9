"""The demo fleet over a real server on a real socket, with Monaco's roads: two drivers
drive their published routes at 200x, deliver with proof, fail some deliveries, which
dispatch reschedules; and a fleet cancelled half-way stops."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.config import Settings
from backend.demo.drive import drive_fleet, reschedule
from backend.demo.proofs import door_photo
from shared.api_client import ApiClient
from shared.enums import OrderStatus
from shared.geo import Point, haversine_m
from shared.schemas.locations import FixIn
from shared.schemas.orders import TransitionRequest
from tests.backend.routing.conftest import routing_data_dir  # noqa: F401 (a fixture)
from tests.conftest import make_settings
from tests.factories import PASSWORD, assign, create_org_with_users, login
from tests.live_server import run_server

SPEED = 200.0
DEPOT = Point(43.7347, 7.4206)  # Port Hercule
ROUTES = [
    [(43.72956, 7.41337), (43.73077, 7.41546), (43.7330, 7.4180)],
    [(43.7398, 7.4270), (43.7375, 7.4300), (43.7345, 7.4220)],
]
PROOFS: list[list[str]] = [["photo"], ["photo", "signature"], ["barcode"]]


@pytest.fixture(scope="module")
def fleet_url(routing_data_dir: Path, settings: Settings, base_url: str) -> Iterator[str]:  # noqa: F811
    """A backend with Monaco's roads that takes fixes at the demo's pace (``base_url``
    first: it migrates the database)."""
    fast = make_settings(
        routing_data_dir,
        database_url=settings.resolved_database_url,
        location_max_speed_mps=70.0 * SPEED,
    )
    with run_server(fast) as url:
        yield url


@dataclass
class Day:
    emails: dict[str, str]
    driver_ids: list[int]
    orders: list[list[dict[str, Any]]]  # per driver, in route order
    staff: httpx.AsyncClient


def _window() -> dict[str, str]:
    start = datetime.now(UTC) - timedelta(hours=1)
    return {"start": start.isoformat(), "end": (start + timedelta(hours=8)).isoformat()}


@pytest.fixture
async def day(settings: Settings, fleet_url: str) -> AsyncIterator[Day]:
    """A fresh organisation with a depot, two drivers' published routes of three stops."""
    _, _, emails, driver_ids = await create_org_with_users(settings)
    staff = await login(fleet_url, emails["dispatcher"])
    admin = await login(fleet_url, emails["admin"])
    try:
        depot = await admin.post("/api/v1/depots", json={"name": "Hub", **DEPOT._asdict()})
        assert depot.status_code == 201, depot.text
        orders: list[list[dict[str, Any]]] = []
        for d, (driver_id, points) in enumerate(zip(driver_ids, ROUTES, strict=True)):
            vehicle = await admin.post(
                "/api/v1/vehicles", json={"name": f"Van {d}", "depot_id": depot.json()["id"]}
            )
            assert vehicle.status_code == 201, vehicle.text
            mine = []
            for k, (lat, lng) in enumerate(points):
                body = {
                    "reference": f"T{d}{k}-{driver_id}",
                    "recipient_name": "Rita Recipient",
                    "dropoff": {
                        "address": f"{k + 1} Boulevard, Monaco",
                        "lat": lat,
                        "lng": lng,
                        "time_window": _window(),
                        "service_time_s": 120,
                    },
                    "barcodes": [f"PKG-{driver_id}-{k}"],
                    "required_proofs": PROOFS[k],
                }
                created = await staff.post("/api/v1/orders", json=body)
                assert created.status_code == 201, created.text
                await assign(staff, created.json()["id"], driver_id)
                mine.append(created.json())
            route = await staff.post(
                "/api/v1/routes",
                json={
                    "driver_id": driver_id,
                    "vehicle_id": vehicle.json()["id"],
                    "service_date": datetime.now(UTC).date().isoformat(),
                    "stops": [{"stop_id": o["stops"][0]["id"]} for o in mine],
                },
            )
            assert route.status_code == 201, route.text
            published = await staff.patch(
                f"/api/v1/routes/{route.json()['id']}", json={"status": "published"}
            )
            assert published.status_code == 200, published.text
            orders.append(mine)
        yield Day(emails, driver_ids, orders, staff)
    finally:
        await staff.aclose()
        await admin.aclose()


def _drivers(day: Day) -> list[tuple[str, str]]:
    return [(day.emails["driver"], PASSWORD), (day.emails["driver2"], PASSWORD)]


async def _track(staff: httpx.AsyncClient, driver_id: int) -> list[Point]:
    page = (await staff.get(f"/api/v1/drivers/{driver_id}/locations")).json()
    return [Point(f["lat"], f["lng"]) for f in page["items"]]


async def test_the_fleet_drives_delivers_fails_and_dispatch_reschedules(
    day: Day, fleet_url: str
) -> None:
    lines: list[str] = []
    began = time.monotonic()
    await asyncio.wait_for(
        drive_fleet(
            fleet_url,
            _drivers(day),
            dispatcher=(day.emails["dispatcher"], PASSWORD),
            speed=SPEED,
            seed=3,
            fail_share=0.2,  # of six: two fail
            on_event=lines.append,
        ),
        timeout=120,
    )
    took = time.monotonic() - began
    assert took < 90, f"the drive took {took:.0f} s"

    # The phones' fixes arrived and trace the route: from the depot out to the last stop.
    for driver_id, orders in zip(day.driver_ids, day.orders, strict=True):
        track = await _track(day.staff, driver_id)
        assert len(track) > 30
        assert haversine_m(track[0], DEPOT) < 150
        last = orders[-1]["stops"][0]
        assert haversine_m(track[-1], Point(last["lat"], last["lng"])) < 150
        for order in orders:  # it passed by every stop, inside its arrival radius
            stop = Point(order["stops"][0]["lat"], order["stops"][0]["lng"])
            assert min(haversine_m(p, stop) for p in track) < 150

    delivered, failed = 0, 0
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    for order in (o for orders in day.orders for o in orders):
        now = (await day.staff.get(f"/api/v1/orders/{order['id']}")).json()
        events = (await day.staff.get(f"/api/v1/orders/{order['id']}/events")).json()
        done = [e for e in events if e["to_status"] == "delivered"]
        if now["status"] == "delivered":
            delivered += 1
            files = done[0]["details"]["pod"]["files"]
            assert any(name.startswith("photo") for name in files), files
            assert any(e["to_status"] == "arriving" for e in events)
        else:
            failed += 1
            assert any("failure" in e["details"] for e in events), events
            assert now["status"] in ("rescheduled", "created"), now["status"]
            window = now["stops"][0]["window_start"]
            assert datetime.fromisoformat(window).date() >= tomorrow
            assert now["stops"][0]["route_id"] is None  # off today's route
    assert (delivered, failed) == (4, 2)
    assert sum("delivered" in line for line in lines) == 4
    assert sum("dispatch rescheduled" in line for line in lines) == 2
    inbox = (await day.staff.get("/api/v1/exceptions")).json()
    ours = {o["id"] for orders in day.orders for o in orders}
    assert not [i for i in inbox if i.get("order_id") in ours and i["kind"] == "failed_delivery"]

    # Both drivers are on shift, idle, at the end of the day.
    drivers = (await day.staff.get("/api/v1/drivers")).json()["items"]
    assert {d["status"] for d in drivers if d["id"] in day.driver_ids} == {"idle"}


async def test_a_cancelled_fleet_stops_driving(day: Day, fleet_url: str) -> None:
    arrived = asyncio.Event()

    def heard(line: str) -> None:
        if "arrived" in line:
            arrived.set()

    run = asyncio.create_task(
        drive_fleet(
            fleet_url,
            _drivers(day),
            dispatcher=(day.emails["dispatcher"], PASSWORD),
            speed=20.0,
            fail_share=0.0,
            on_event=heard,
            upload_every_s=0.5,
        )
    )
    await asyncio.wait_for(arrived.wait(), timeout=60)
    run.cancel()
    began = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert time.monotonic() - began < 5

    counts = [len(await _track(day.staff, d)) for d in day.driver_ids]
    assert sum(counts) > 0
    await asyncio.sleep(2.0)  # four upload periods: a driver still running would send
    assert [len(await _track(day.staff, d)) for d in day.driver_ids] == counts
    statuses = [
        (await day.staff.get(f"/api/v1/orders/{o['id']}")).json()["status"]
        for orders in day.orders
        for o in orders
    ]
    assert "delivered" not in statuses[2::3]  # the last stops were never reached


async def test_a_restarted_fleet_skips_finished_stops_and_sets_off_from_the_driver(
    day: Day, fleet_url: str
) -> None:
    first, rest = day.orders[0][0], day.orders[0][1:]
    at_first = Point(first["stops"][0]["lat"], first["stops"][0]["lng"])
    async with ApiClient(fleet_url) as phone:  # the day began before the demo restarted
        await phone.login(day.emails["driver"], PASSWORD)
        fix = FixIn(lat=at_first.lat, lng=at_first.lng, recorded_at=datetime.now(UTC))
        assert (await phone.send_fixes([fix])).accepted == 1
        await phone.transition(first["id"], TransitionRequest(to=OrderStatus.EN_ROUTE))
        await phone.record_pod(first["id"], "before-restart", photos=[door_photo(1)])
    lines: list[str] = []

    await drive_fleet(
        fleet_url,
        _drivers(day)[:1],
        dispatcher=(day.emails["dispatcher"], PASSWORD),
        speed=SPEED,
        fail_share=0.0,
        on_event=lines.append,
    )

    assert any("2 stops (1 already done)" in line for line in lines), lines
    events = (await day.staff.get(f"/api/v1/orders/{first['id']}/events")).json()
    assert [e["to_status"] for e in events].count("delivered") == 1
    for order in rest:
        got = (await day.staff.get(f"/api/v1/orders/{order['id']}")).json()
        assert got["status"] == "delivered"
    track = await _track(day.staff, day.driver_ids[0])
    assert haversine_m(track[1], at_first) < 100  # not from the depot, 800 m away
    assert haversine_m(at_first, DEPOT) > 500


async def test_dispatch_takes_a_same_day_reattempt_off_the_route_to_tomorrow(
    day: Day, fleet_url: str
) -> None:
    order = day.orders[0][0]
    async with ApiClient(fleet_url) as phone, ApiClient(fleet_url) as staff:
        await phone.login(day.emails["driver"], PASSWORD)
        await staff.login(day.emails["dispatcher"], PASSWORD)
        await phone.transition(order["id"], TransitionRequest(to=OrderStatus.EN_ROUTE))
        report = await phone.report_failure(order["id"], "nobody-home-1", reason="not_home")
        assert report.follow_up == "reattempt_today"
        assert (await staff.get_order(order["id"])).status is OrderStatus.ASSIGNED

        words = await reschedule(staff, order["id"], datetime.now(UTC))

        moved = await staff.get_order(order["id"])
        assert moved.status is OrderStatus.CREATED
        window = moved.stops[0].window_start
        assert window is not None
        assert window.date() > datetime.now(UTC).date()
        assert moved.stops[0].route_id is None
        assert words.startswith(f"{window:%Y-%m-%d %H:%M}")
        inbox = await staff.exceptions()
        assert not [i for i in inbox if i.order_id == order["id"]]
