"""The KPIs section: ranges, the tiles' words, the charts' series (pure), and the state
reading the real backend's report."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from dispatcher_app.logic.kpis import (
    date_range,
    delivery_bars,
    distance_bars,
    labelled,
    tiles,
    top,
    window_rows,
    zone_name,
)
from dispatcher_app.state.app import DispatcherAppState
from shared.api_client import ApiClient
from shared.schemas.kpis import KpiDay, KpiFigures, KpiReport, KpiWindow, KpiWindowReport
from tests.factories import PASSWORD, Org, create_order


def test_ranges_end_today_and_zones_have_names_the_server_knows() -> None:
    today = date(2031, 3, 14)
    assert date_range("today", today) == (today, today)
    assert date_range("7d", today) == (date(2031, 3, 8), today)
    assert date_range("30d", today) == (date(2031, 2, 13), today)
    with pytest.raises(ValueError, match="unknown range"):
        date_range("year", today)
    assert zone_name(ZoneInfo("Europe/Monaco")) == "Europe/Monaco"
    assert zone_name(UTC) == "UTC"
    assert zone_name(timezone(timedelta(hours=2))) == "Etc/GMT-2"  # the tz database's sign
    assert zone_name(timezone(timedelta(hours=5, minutes=30))) == "UTC"  # no Etc twin


def report(days: list[KpiDay], totals: KpiFigures) -> KpiReport:
    return KpiReport(
        date_from=days[0].day,
        date_to=days[-1].day,
        tz="UTC",
        days=days,
        totals=totals,
        most_viewed=[],
        distance_estimated=True,
        notes=[],
    )


def test_tiles_say_the_rate_and_the_counts_behind_it() -> None:
    figures = KpiFigures(
        delivered=3,
        delivered_with_window=3,
        on_time=2,
        on_time_rate=2 / 3,
        first_attempts=3,
        first_attempt_successes=2,
        first_attempt_rate=2 / 3,
        attempts=4,
        driver_hours=1.02,
        stops_per_driver_hour=4 / 1.02,
        driver_days=2,
        stops_per_driver_day=2.0,
        timed_routes=1,
        planned_duration_s=7200,
        actual_duration_s=9000,
        duration_ratio=1.25,
        routes=1,
        planned_distance_m=8000,
        actual_distance_m=9200,
        track_views=3,
        viewed_orders=2,
        views_per_order=1.5,
    )
    day = KpiDay(day=date(2031, 3, 14), **figures.model_dump())
    shown = {t.id: (t.value, t.detail) for t in tiles(report([day], figures))}
    assert shown["kpi-on-time"] == ("67 %", "2 of 3 deliveries inside their window")
    assert shown["kpi-first-attempt"] == ("67 %", "2 of 3 delivered at the first try")
    assert shown["kpi-stops-per-hour"] == ("3.9", "4 stops in 1.0 h of driving days")
    assert shown["kpi-distance"] == ("9.2 km (+15 %)", "planned 8.0 km, partly estimated, 1 route")
    assert shown["kpi-track-views"] == ("1.5", "3 visits about 2 orders")
    assert shown["kpi-stops-per-day"] == ("2.0", "4 stops in 2 driver days")
    assert shown["kpi-route-time"] == ("+25 %", "2.5 h taken, 2.0 h planned, 1 route")
    empty = {t.id: t.value for t in tiles(report([day], KpiFigures()))}
    assert empty["kpi-on-time"] == "-"  # nothing delivered: no rate, not 0 %
    assert (empty["kpi-stops-per-day"], empty["kpi-route-time"]) == ("-", "-")
    untimed = {t.id: t.detail for t in tiles(report([day], KpiFigures()))}
    assert untimed["kpi-route-time"] == "no route with two planned stops done"
    (bars,) = delivery_bars([day])
    assert (bars.label, bars.on_time, bars.late, bars.failed_first) == ("Fri 14", 2, 1, 1)
    (distance,) = distance_bars([day])
    assert (distance.planned_km, distance.driven_km) == (8.0, 9.2)


def test_the_window_table_has_a_row_per_slot_then_those_without_one() -> None:
    windows = KpiWindowReport(
        date_from=date(2031, 3, 14),
        date_to=date(2031, 3, 14),
        tz="UTC",
        windows=[
            KpiWindow(
                slot="08:00-10:00",
                starts="08:00",
                ends="10:00",
                delivered=4,
                on_time=2,
                early=1,
                late=1,
                on_time_rate=0.5,
                late_minutes_avg=20.0,
            )
        ],
        delivered=5,
        without_window=1,
        notes=[],
    )
    rows = window_rows(windows)
    assert [r.id for r in rows] == ["kpi-window-0800-1000", "kpi-window-none"]
    assert rows[0].cells == ("08:00-10:00", "4", "2 (50 %)", "1", "1", "20 min")
    assert rows[1].cells[:2] == ("No window", "1")


def test_a_month_labels_some_days_and_axes_end_on_a_round_number() -> None:
    assert labelled(5) == {0, 1, 2, 3, 4}
    month = labelled(30)
    assert 29 in month
    assert len(month) <= 8
    assert top([]) == 1.0
    assert top([3]) == 3.0
    assert top([9.3]) == 10.0
    assert top([47, 12]) == 50.0


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[ApiClient]:
    async with ApiClient(base_url) as api:
        yield api


async def test_the_state_reads_today_then_a_week(org: Org, client: ApiClient) -> None:
    order = await create_order(org.dispatcher)
    for body in (
        {"to": "assigned", "driver_id": org.driver_ids[0]},
        {"to": "en_route"},
    ):
        response = await org.dispatcher.post(f"/api/v1/orders/{order['id']}/transitions", json=body)
        assert response.status_code == 200, response.text
    done = await org.driver.post(
        f"/api/v1/orders/{order['id']}/transitions", json={"to": "delivered"}
    )
    assert done.status_code == 200, done.text

    app = DispatcherAppState(client, now=lambda: datetime.now(UTC), tz=UTC)
    assert await app.login(org.emails["dispatcher"], PASSWORD)  # loads today's KPIs
    assert app.kpis.report is not None
    assert [d.day for d in app.kpis.report.days] == [datetime.now(UTC).date()]
    assert app.kpis.report.totals.delivered == 1
    assert app.kpis.report.totals.first_attempt_rate == 1.0
    # Delivered an hour before its window opened: early, in the window's slot.
    assert app.kpis.windows is not None
    assert (app.kpis.windows.delivered, app.kpis.windows.without_window) == (1, 0)
    (slot,) = app.kpis.windows.windows
    assert (slot.delivered, slot.on_time, slot.early) == (1, 0, 1)

    await app.kpis.set_range("7d")
    assert app.kpis.range_choice == "7d"
    assert len(app.kpis.report.days) == 7
    assert app.kpis.report.totals.delivered == 1

    app.logout()
    assert app.kpis.report is None
    assert app.kpis.windows is None
    assert app.kpis.range_choice == "today"
    await app.fleet.aclose()
