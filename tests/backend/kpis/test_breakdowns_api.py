"""GET /api/v1/kpis/drivers and /kpis/windows, and the per-day figures they add to
GET /api/v1/kpis, on three past days in Paris (UTC+1 in February).

Dora (driver A): 10 Feb, a route of three stops planned 08:00-10:00 that took 08:20-10:50
(two delivered inside their 08-10 window, one failed), then 11 Feb one delivery inside
10-12 on a one-stop route (not timed). Dirk (driver B): 10 Feb, one delivery at 00:30 with
no window (still 9 Feb in UTC), one early and one late for 08-10, two more (no window)
on a draft route. 12 Feb: nothing."""

from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from backend.config import Settings
from shared.enums import OrderStatus, RouteStatus
from tests.backend.kpis.history import RoutePlan, Visit, paris, write_history
from tests.factories import Org

DAY1, DAY2, DAY3 = date(2026, 2, 10), date(2026, 2, 11), date(2026, 2, 12)


def slot(day: date, start: str, end: str) -> tuple[Any, Any]:
    return paris(day, start), paris(day, end)


@pytest.fixture
async def history(org: Org, settings: Settings) -> None:
    dora, dirk = org.driver_ids
    early_morning = slot(DAY1, "08:00", "10:00")
    route = RoutePlan(
        dora,
        DAY1,
        [
            Visit(
                paris(DAY1, "08:30"),
                early_morning,
                OrderStatus.DELIVERED,
                paris(DAY1, "08:00"),
                paris(DAY1, "08:20"),
            ),
            Visit(
                paris(DAY1, "09:50"),
                early_morning,
                OrderStatus.DELIVERED,
                paris(DAY1, "09:00"),
                paris(DAY1, "09:45"),
            ),
            Visit(
                paris(DAY1, "10:52"),
                early_morning,
                OrderStatus.FAILED,
                paris(DAY1, "10:00"),
                paris(DAY1, "10:50"),
            ),
        ],
    )
    one_stop = RoutePlan(
        dora,
        DAY2,
        [
            Visit(
                paris(DAY2, "11:00"),
                slot(DAY2, "10:00", "12:00"),
                OrderStatus.DELIVERED,
                paris(DAY2, "10:30"),
                paris(DAY2, "10:58"),
            )
        ],
    )
    # A draft is no plan: its times are not counted, whatever it holds.
    draft = RoutePlan(
        dirk,
        DAY1,
        [
            Visit(
                paris(DAY1, "13:00"),
                None,
                OrderStatus.DELIVERED,
                paris(DAY1, "13:00"),
                paris(DAY1, "13:00"),
            ),
            Visit(
                paris(DAY1, "17:00"),
                None,
                OrderStatus.DELIVERED,
                paris(DAY1, "14:00"),
                paris(DAY1, "17:00"),
            ),
        ],
        RouteStatus.DRAFT,
    )
    loose = {
        dirk: [
            Visit(paris(DAY1, "00:30")),  # no window; 23:30 UTC on 9 Feb
            Visit(paris(DAY1, "07:30"), early_morning),  # early
            Visit(paris(DAY1, "10:20"), early_morning),  # 20 minutes late
        ]
    }
    await write_history(settings, org.id, loose, [route, one_stop, draft])


async def get(client: httpx.AsyncClient, path: str, **params: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/kpis{path}", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


PARIS_RANGE = {"date_from": DAY1.isoformat(), "date_to": DAY3.isoformat(), "tz": "Europe/Paris"}


@pytest.mark.usefixtures("history")
async def test_stops_per_driver_per_day_and_route_time(org: Org) -> None:
    body = await get(org.dispatcher, "/drivers", **PARIS_RANGE)
    by_name = {d["name"]: d for d in body["drivers"]}
    assert list(by_name) == ["Dirk Driver", "Dora Driver"]
    dora, dirk = by_name["Dora Driver"], by_name["Dirk Driver"]
    # Dora: 3 stops on the 10th (one failed), 1 on the 11th.
    assert [(d["day"], d["stops"], d["delivered"], d["failed"]) for d in dora["days"]] == [
        (DAY1.isoformat(), 3, 2, 1),
        (DAY2.isoformat(), 1, 1, 0),
    ]
    assert (dora["stops"], dora["days_with_stops"], dora["stops_per_day"]) == (4, 2, 2.0)
    # Her route of the 10th: planned 08:00-10:00, arrived 08:20-10:50.
    assert dora["timed_routes"] == 1
    assert dora["days"][0]["planned_duration_s"] == 2 * 3600
    assert dora["days"][0]["actual_duration_s"] == 2.5 * 3600
    assert dora["duration_ratio"] == pytest.approx(1.25)
    assert dora["days"][1]["timed_routes"] == 0  # one stop: nothing to time
    # Dirk: 5 stops, all on the 10th in Paris (the first at 00:30); his draft's are not
    # counted as route time but the stops he reported are his.
    assert [(d["day"], d["stops"]) for d in dirk["days"]] == [(DAY1.isoformat(), 5)]
    assert (dirk["stops_per_day"], dirk["timed_routes"], dirk["duration_ratio"]) == (5.0, 0, None)


@pytest.mark.usefixtures("history")
async def test_local_days_follow_the_time_zone(org: Org) -> None:
    in_utc = await get(
        org.dispatcher,
        "/drivers",
        date_from=DAY1.isoformat(),
        date_to=DAY3.isoformat(),
        tz="UTC",
    )
    dirk = next(d for d in in_utc["drivers"] if d["name"] == "Dirk Driver")
    assert [(d["day"], d["stops"]) for d in dirk["days"]] == [(DAY1.isoformat(), 4)]
    earlier = await get(
        org.dispatcher,
        "/drivers",
        date_from=(DAY1 - timedelta(days=1)).isoformat(),
        tz="UTC",
    )
    (dirk,) = earlier["drivers"]
    assert (dirk["name"], dirk["stops"]) == ("Dirk Driver", 1)


@pytest.mark.usefixtures("history")
async def test_sla_adherence_per_window_slot(org: Org) -> None:
    body = await get(org.dispatcher, "/windows", **PARIS_RANGE)
    slots = {w["slot"]: w for w in body["windows"]}
    assert list(slots) == ["08:00-10:00", "10:00-12:00"]
    morning, late_morning = slots["08:00-10:00"], slots["10:00-12:00"]
    # 08-10: Dora's two inside, Dirk's one early and one 20 minutes late (Dora's failed
    # attempt is no delivery).
    assert (morning["delivered"], morning["on_time"], morning["early"], morning["late"]) == (
        4,
        2,
        1,
        1,
    )
    assert morning["on_time_rate"] == 0.5
    assert morning["late_minutes_avg"] == 20.0
    assert (late_morning["delivered"], late_morning["on_time"], late_morning["late"]) == (1, 1, 0)
    assert late_morning["late_minutes_avg"] is None
    # Dirk's 00:30 delivery and his draft's two had no window: counted apart, in no slot.
    assert (body["delivered"], body["without_window"]) == (8, 3)
    assert any("without_window" in note for note in body["notes"])
    # In UTC the same windows are 07:00-09:00 and 09:00-11:00.
    in_utc = await get(org.dispatcher, "/windows", date_from=DAY1.isoformat(), tz="UTC")
    assert [w["slot"] for w in in_utc["windows"]] == ["07:00-09:00"]
    assert in_utc["without_window"] == 2  # the 00:30 one was on the 9th in UTC


@pytest.mark.usefixtures("history")
async def test_the_day_report_has_stops_per_driver_day_and_route_time(org: Org) -> None:
    body = await get(org.dispatcher, "", **PARIS_RANGE)
    day1, day2, day3 = body["days"]
    # The 10th: Dora 3 stops, Dirk 5: 8 stops over 2 driver days.
    assert (day1["attempts"], day1["driver_days"], day1["stops_per_driver_day"]) == (8, 2, 4.0)
    assert (day1["timed_routes"], day1["planned_duration_s"], day1["actual_duration_s"]) == (
        1,
        7200.0,
        9000.0,
    )
    assert day1["duration_ratio"] == pytest.approx(1.25)
    assert (day2["attempts"], day2["driver_days"], day2["timed_routes"]) == (1, 1, 0)
    assert day2["duration_ratio"] is None
    # The 12th: nothing at all, no rate.
    assert (day3["attempts"], day3["driver_days"], day3["stops_per_driver_day"]) == (0, 0, None)
    totals = body["totals"]
    assert (totals["attempts"], totals["driver_days"]) == (9, 3)
    assert totals["stops_per_driver_day"] == pytest.approx(3.0)


async def test_a_year_at_a_time_and_no_more(org: Org, stranger: Org) -> None:
    year = {"date_from": "2025-01-01", "date_to": "2025-12-31"}
    for path in ("/drivers", "/windows"):
        body = await get(org.dispatcher, path, **year)
        assert body["date_to"] == "2025-12-31"
        too_long = await org.dispatcher.get(
            f"/api/v1/kpis{path}", params={"date_from": "2025-01-01", "date_to": "2026-01-02"}
        )
        assert too_long.status_code == 422
        assert "at most 366 days" in too_long.json()["error"]["message"]
        assert (await org.driver.get(f"/api/v1/kpis{path}")).status_code == 403
    empty = await get(stranger.dispatcher, "/windows", **PARIS_RANGE)
    assert (empty["windows"], empty["delivered"]) == ([], 0)
