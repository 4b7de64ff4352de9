"""CSV import: parsing, guessing the column mapping, and the per-row validation report."""

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.order_import import (
    ImportFormatError,
    OrderField,
    chunks,
    guess_mapping,
    missing_required,
    parse_csv,
    validate_rows,
)

PARIS_WINTER = timezone(timedelta(hours=1))
GOOD = """Order ref,Customer,Phone,E-mail,Delivery address,Latitude,Longitude,From,To,Weight,Barcode
A-1,Ann,+33 1,ann@example.test,1 Rue A,43.74,7.42,2031-03-14 09:00,2031-03-14 11:00,"2,5",P1
A-2,Bob,,,2 Rue B,43.75,7.43,,,,P2 P3
"""


def test_headers_are_mapped_by_their_usual_names() -> None:
    table = parse_csv(GOOD)
    mapping = guess_mapping(table.headers)

    named = {f: table.headers[i] for f, i in mapping.items() if i is not None}
    assert named == {
        OrderField.REFERENCE: "Order ref",
        OrderField.RECIPIENT_NAME: "Customer",
        OrderField.RECIPIENT_PHONE: "Phone",
        OrderField.RECIPIENT_EMAIL: "E-mail",
        OrderField.ADDRESS: "Delivery address",
        OrderField.LAT: "Latitude",
        OrderField.LNG: "Longitude",
        OrderField.WINDOW_START: "From",
        OrderField.WINDOW_END: "To",
        OrderField.WEIGHT_KG: "Weight",
        OrderField.BARCODES: "Barcode",
    }
    assert missing_required(mapping) == []


def test_good_rows_become_orders_with_local_windows() -> None:
    table = parse_csv(GOOD)
    [first, second] = validate_rows(table, guess_mapping(table.headers), PARIS_WINTER)

    assert first.ok
    assert second.ok
    assert first.row == 2
    assert second.row == 3
    order = first.order
    assert order is not None
    assert order.dropoff is not None
    assert order.reference == "A-1"
    assert order.weight_kg == 2.5
    assert order.recipient_email == "ann@example.test"
    assert order.dropoff.time_window is not None
    assert order.dropoff.time_window.start == datetime(2031, 3, 14, 8, 0, tzinfo=UTC)
    assert second.order is not None
    assert second.order.barcodes == ["P2", "P3"]
    assert second.order.dropoff is not None
    assert second.order.dropoff.time_window is None


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("A-3,,,,3 Rue C,43.7,7.4,,,,", "Customer", "is empty"),
        ("A-3,Cy,,,3 Rue C,north,7.4,,,,", "Latitude", "'north' is not a latitude in degrees"),
        ("A-3,Cy,,,3 Rue C,95,7.4,,,,", "Latitude", "Input should be less than or equal to 90"),
        ("A-3,Cy,,,3 Rue C,43.7,7.4,2031-03-14 09:00,,,", "To", "give both ends"),
        ("A-3,Cy,,,3 Rue C,43.7,7.4,soon,2031-03-14 11:00,,", "From", "'soon' is not a date"),
        (
            "A-3,Cy,,,3 Rue C,43.7,7.4,2031-03-14 11:00,2031-03-14 09:00,,",
            "To",
            "time window end must be after its start",
        ),
        ("A-3,Cy,,not-an-email,3 Rue C,43.7,7.4,,,,", "E-mail", "String should match"),
        ("A-3,Cy,,,3 Rue C,43.7,7.4,,,-1,", "Weight", "greater than or equal to 0"),
        ("A-3,Cy,,,3 Rue C,43.7,7.4,,,,P1", "Barcode", "barcode P1 is already on row 2"),
    ],
)
def test_a_bad_row_is_reported_with_its_row_and_column(row: str, column: str, message: str) -> None:
    table = parse_csv(GOOD + row + "\n")
    results = validate_rows(table, guess_mapping(table.headers), UTC)

    assert [r.ok for r in results] == [True, True, False]
    bad = results[2]
    assert bad.row == 4
    assert [e.column for e in bad.errors] == [column]
    assert message in bad.errors[0].message


def test_a_changed_mapping_is_used() -> None:
    table = parse_csv("who;where;y;x;code\nAnn;1 Rue A;43.7;7.4;Z9\n")
    mapping = guess_mapping(table.headers)
    assert missing_required(mapping) == [OrderField.RECIPIENT_NAME, OrderField.ADDRESS]

    mapping[OrderField.RECIPIENT_NAME] = 0
    mapping[OrderField.ADDRESS] = 1
    [result] = validate_rows(table, mapping, UTC)

    assert result.order is not None
    assert result.order.recipient_name == "Ann"
    assert result.order.dropoff is not None
    assert result.order.dropoff.lng == 7.4
    assert result.order.reference is None  # "code" was not taken for a reference


def test_an_unmapped_required_field_is_named_by_its_label() -> None:
    table = parse_csv("name,lat,lon\nAnn,43.7,7.4\n")
    [result] = validate_rows(table, guess_mapping(table.headers), UTC)
    assert [(e.column, e.message) for e in result.errors] == [("Address", "is empty")]


@pytest.mark.parametrize("text", ["", "  \n\n", "\ufeff"])
def test_an_empty_file_is_refused(text: str) -> None:
    with pytest.raises(ImportFormatError):
        parse_csv(text)


def test_short_rows_are_padded_and_blank_lines_skipped() -> None:
    table = parse_csv("\ufeffname,address,lat,lon\n\nAnn,1 Rue A\n")
    assert table.headers == ("name", "address", "lat", "lon")
    assert table.rows == (("Ann", "1 Rue A", "", ""),)


cell = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\x00"),
    max_size=12,
)


@given(st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=8))
def test_written_csv_reads_back_cell_for_cell(rows: list[list[str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "address", "notes"])
    writer.writerows(rows)

    table = parse_csv(out.getvalue())

    kept = [tuple(c.strip() for c in row) for row in rows if any(c.strip() for c in row)]
    assert table.headers == ("name", "address", "notes")
    assert list(table.rows) == kept
    results = validate_rows(table, guess_mapping(table.headers), UTC)
    assert [r.row for r in results] == list(range(2, 2 + len(kept)))
    assert all(not r.ok and r.errors for r in results)  # no coordinates: never an order


@given(st.lists(st.integers(), max_size=2500), st.integers(min_value=1, max_value=1000))
def test_chunks_keep_order_and_limit(items: list[int], size: int) -> None:
    parts = chunks(items, size)
    assert [x for part in parts for x in part] == items
    assert all(1 <= len(part) <= size for part in parts)
