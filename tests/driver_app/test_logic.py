"""Pure logic of the driver app: windows, stop order, the next stop, the shift choice."""

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from app_kit.errors import describe_error
from app_kit.time_windows import format_window
from driver_app.logic.shift import shift_choice, shift_label
from driver_app.logic.stops import (
    StopLine,
    is_finished,
    next_stop_index,
    order_stops,
    stop_status_label,
)
from shared.api_client import ApiError
from shared.enums import DriverStatus, OrderStatus, StopKind
from shared.schemas.fleet import RouteOut
from shared.schemas.orders import StopOut

MONACO = ZoneInfo("Europe/Monaco")
T0 = datetime(2031, 3, 14, 8, 0, tzinfo=UTC)  # 09:00 in Monaco (CET)


def stop(
    stop_id: int, sequence: int | None, kind: StopKind = StopKind.DROPOFF, **extra: Any
) -> StopOut:
    values: dict[str, Any] = {
        "id": stop_id,
        "order_id": stop_id,
        "kind": kind,
        "address": f"{stop_id} Rue Grimaldi",
        "lat": 43.73,
        "lng": 7.42,
        "window_start": None,
        "window_end": None,
        "service_time_s": 120,
        "route_id": 1,
        "sequence": sequence,
        "planned_arrival_at": None,
        "actual_arrival_at": None,
        "actual_departure_at": None,
    }
    values.update(extra)
    return StopOut.model_validate(values)


def route(route_id: int, stops: list[StopOut], start: datetime | None = None) -> RouteOut:
    return RouteOut.model_validate(
        {
            "id": route_id,
            "org_id": 1,
            "driver_id": 1,
            "vehicle_id": None,
            "service_date": "2031-03-14",
            "status": "published",
            "planned_start_at": start,
            "planned_end_at": None,
            "actual_start_at": None,
            "actual_end_at": None,
            "stops": stops,
        }
    )


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (T0, datetime(2031, 3, 14, 10, 0, tzinfo=UTC), "09:00\N{EN DASH}11:00"),
        (
            datetime(2031, 3, 15, 8, 0, tzinfo=UTC),
            datetime(2031, 3, 15, 10, 0, tzinfo=UTC),
            "Sat 15 Mar 09:00\N{EN DASH}11:00",
        ),
        (None, None, "Any time"),
        (T0, None, "From 09:00"),
        (None, T0, "By 09:00"),
        (datetime(2031, 3, 14, 8, 0), None, "From 09:00"),  # naive means UTC
        (
            datetime(2031, 3, 14, 21, 0, tzinfo=UTC),
            datetime(2031, 3, 15, 1, 0, tzinfo=UTC),
            "Fri 14 Mar 22:00 \N{EN DASH} Sat 15 Mar 02:00",
        ),
    ],
)
def test_windows_are_shown_in_the_drivers_zone(
    start: datetime | None, end: datetime | None, expected: str
) -> None:
    assert format_window(start, end, tz=MONACO, today=date(2031, 3, 14)) == expected


def test_summer_time_moves_the_local_window() -> None:
    summer = datetime(2031, 7, 1, 8, 0, tzinfo=UTC)
    text = format_window(summer, None, tz=MONACO, today=date(2031, 7, 1))
    assert text == "From 10:00"


def test_routes_by_planned_start_then_stops_by_sequence() -> None:
    late = route(1, [stop(11, 1), stop(10, 0)], start=datetime(2031, 3, 14, 13, tzinfo=UTC))
    early = route(2, [stop(21, 1), stop(20, 0)], start=datetime(2031, 3, 14, 7, tzinfo=UTC))
    unplanned = route(3, [stop(30, 0)])

    lines = order_stops([unplanned, late, early], {})

    assert [line.stop.id for line in lines] == [20, 21, 10, 11, 30]
    assert [line.route_id for line in lines] == [2, 2, 1, 1, 3]


@pytest.mark.parametrize(
    ("kind", "status", "finished"),
    [
        (StopKind.PICKUP, OrderStatus.EN_ROUTE_TO_PICKUP, False),
        (StopKind.PICKUP, OrderStatus.PICKED_UP, True),
        (StopKind.DROPOFF, OrderStatus.PICKED_UP, False),
        (StopKind.DROPOFF, OrderStatus.ARRIVING, False),
        (StopKind.DROPOFF, OrderStatus.DELIVERED, True),
        (StopKind.DROPOFF, OrderStatus.FAILED, True),
        (StopKind.DROPOFF, OrderStatus.CANCELLED, True),
        (StopKind.DROPOFF, None, False),
    ],
)
def test_a_stop_is_finished_once_its_order_moved_past_it(
    kind: StopKind, status: OrderStatus | None, finished: bool
) -> None:
    assert is_finished(stop(1, 0, kind), status) is finished


def test_leaving_a_stop_finishes_it_whatever_the_order_says() -> None:
    assert is_finished(stop(1, 0, actual_departure_at=T0), OrderStatus.ARRIVING)


def test_next_stop_is_the_first_unfinished_and_none_when_the_day_is_done() -> None:
    left = StopLine(stop(1, 0, actual_departure_at=T0), 1, None)
    here = StopLine(stop(2, 1, actual_arrival_at=T0), 1, None)
    later = StopLine(stop(3, 2), 1, None)

    assert next_stop_index([left, here, later]) == 1
    assert next_stop_index([left]) is None
    assert next_stop_index([]) is None
    assert [stop_status_label(line) for line in (left, here, later)] == [
        "Done",
        "Arrived",
        "Planned",
    ]


@pytest.mark.parametrize(
    ("status", "choice"),
    [
        (DriverStatus.OFFLINE, DriverStatus.OFFLINE),
        (DriverStatus.IDLE, DriverStatus.IDLE),
        (DriverStatus.ON_BREAK, DriverStatus.ON_BREAK),
        (DriverStatus.EN_ROUTE, DriverStatus.IDLE),
        (DriverStatus.DELIVERING, DriverStatus.IDLE),
    ],
)
def test_working_counts_as_on_shift(status: DriverStatus, choice: DriverStatus) -> None:
    assert shift_choice(status) is choice


def test_shift_labels_speak_plainly() -> None:
    assert shift_label(DriverStatus.IDLE) == "On shift"
    assert shift_label(DriverStatus.EN_ROUTE) == "En route"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ApiError(409, "conflict", "already on a route"), "already on a route"),
        (
            ApiError(503, "http_error", "Service Unavailable"),
            "The server had a problem (503): Service Unavailable. Try again shortly.",
        ),
        (
            httpx.ConnectError("refused"),
            "Cannot reach the server at http://x.test. Check the connection and try again.",
        ),
        (
            httpx.ReadTimeout("slow"),
            "The server at http://x.test did not answer in time. Try again.",
        ),
    ],
)
def test_errors_are_told_in_words(exc: Exception, expected: str) -> None:
    assert describe_error(exc, "http://x.test") == expected


def test_stop_rows_give_the_eta_in_local_time_and_the_parcel_count() -> None:
    from dataclasses import replace
    from datetime import timedelta, timezone

    from driver_app.logic.stops import eta_label, parcels_label
    from tests.driver_app.test_stop_flow import line_for, order_out

    paris = timezone(timedelta(hours=1))
    base = line_for(order_out(barcodes=["A", "B"]))
    planned = base.stop.model_copy(
        update={"planned_arrival_at": datetime(2031, 3, 14, 9, 5, tzinfo=UTC)}
    )
    line = replace(base, stop=planned)
    assert eta_label(line, paris) == "ETA 10:05"
    live = planned.model_copy(update={"eta_at": datetime(2031, 3, 14, 9, 20, tzinfo=UTC)})
    assert eta_label(replace(base, stop=live), paris) == "ETA 10:20"  # the live one wins
    arrived = live.model_copy(
        update={"actual_arrival_at": datetime(2031, 3, 14, 9, 18, tzinfo=UTC)}
    )
    assert eta_label(replace(base, stop=arrived), paris) is None
    assert parcels_label(line) == "2 parcels"
    assert line.order is not None
    one = replace(line, order=line.order.model_copy(update={"barcodes": ["A"]}))
    assert parcels_label(one) == "1 parcel"
    assert parcels_label(replace(line, order=None)) is None
