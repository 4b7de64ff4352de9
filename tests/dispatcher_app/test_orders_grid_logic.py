"""The orders grid's pure parts: day ranges, filter choices, the new-order form."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher_app.logic.order_filters import (
    DayRange,
    WindowChoice,
    parse_day_range,
    preset_days,
    selection_label,
)
from dispatcher_app.logic.order_form import form_order
from shared.order_import import OrderField
from shared.schemas.orders import OrderCreate

TODAY = date(2031, 3, 14)


@pytest.mark.parametrize(
    ("choice", "days"),
    [
        (WindowChoice.ANY, None),
        (WindowChoice.TODAY, DayRange(TODAY, TODAY)),
        (WindowChoice.TOMORROW, DayRange(date(2031, 3, 15), date(2031, 3, 15))),
        (WindowChoice.NEXT_7_DAYS, DayRange(TODAY, date(2031, 3, 20))),
        (WindowChoice.RANGE, None),
    ],
)
def test_presets_stand_for_local_days(choice: WindowChoice, days: DayRange | None) -> None:
    assert preset_days(choice, TODAY) == days


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=-12, max_value=14),
)
def test_day_bounds_cover_whole_local_days(first: date, span: int, offset_h: int) -> None:
    tz = timezone(timedelta(hours=offset_h))
    start, end = DayRange(first, first + timedelta(days=span)).bounds(tz)
    assert start.tzinfo is UTC
    assert end.tzinfo is UTC
    assert end - start == timedelta(days=span + 1)
    assert start.astimezone(tz).date() == first
    assert start.astimezone(tz).time() == datetime.min.time()


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("2031-03-14", "", DayRange(TODAY, TODAY)),
        ("2031-03-14", "2031-03-16", DayRange(TODAY, date(2031, 3, 16))),
        ("2031-03-16", "2031-03-14", "The last day comes before the first."),
        ("14/03/2031", "", "Dates are written YYYY-MM-DD, e.g. 2031-03-14."),
    ],
)
def test_typed_ranges(first: str, last: str, expected: DayRange | str) -> None:
    assert parse_day_range(first, last) == expected


def test_selection_label() -> None:
    assert selection_label(0, 5) == "None selected"
    assert selection_label(2, 5) == "2 of 5 selected"


def test_the_form_reports_per_field_and_builds_the_order() -> None:
    assert form_order({OrderField.LAT: "43.7"}, UTC) == {
        OrderField.RECIPIENT_NAME: "is empty",
        OrderField.ADDRESS: "is empty",
        OrderField.LNG: "is empty",
    }
    bad_lat = {OrderField.RECIPIENT_NAME: "N", OrderField.ADDRESS: "1 Rue", OrderField.LNG: "7"}
    assert form_order({**bad_lat, OrderField.LAT: "x"}, UTC) == {
        OrderField.LAT: "'x' is not a latitude in degrees"
    }

    order = form_order(
        {
            OrderField.RECIPIENT_NAME: " Nina ",
            OrderField.ADDRESS: "1 Rue",
            OrderField.LAT: "43.74",
            OrderField.LNG: "7.42",
            OrderField.WEIGHT_KG: "1,5",
            OrderField.BARCODES: "A B",
        },
        UTC,
    )
    assert isinstance(order, OrderCreate)
    assert order.recipient_name == "Nina"
    assert order.weight_kg == 1.5
    assert order.barcodes == ["A", "B"]
