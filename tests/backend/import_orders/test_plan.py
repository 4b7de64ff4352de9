"""The import command's pure part: ``--map`` overrides, batches and their keys."""

from datetime import UTC

import pytest

from backend.import_orders.plan import (
    KEY_PREFIX,
    MappingError,
    batch_key,
    batches,
    rows_with_barcodes,
    with_overrides,
)
from shared.order_import import OrderField, guess_mapping, parse_csv, validate_rows
from shared.schemas.orders import OrderCreate

CSV = (
    "Ref,Name,Address,Breite,Länge,Codes\n"
    "R1,Ann,1 Rue A,43.7,7.4,A1\n"
    "R2,Bob,2 Rue B,43.8,7.5,B1 B2\n"
)


def test_overrides_name_columns_by_header_any_case_or_number() -> None:
    table = parse_csv(CSV)
    guessed = guess_mapping(table.headers)
    assert guessed[OrderField.LAT] is None
    mapping = with_overrides(
        table, guessed, ["lat=Breite", "LNG=länge", "barcodes=6", "reference="]
    )
    assert mapping[OrderField.LAT] == 3
    assert mapping[OrderField.LNG] == 4
    assert mapping[OrderField.BARCODES] == 5
    assert mapping[OrderField.REFERENCE] is None
    assert mapping[OrderField.RECIPIENT_NAME] == guessed[OrderField.RECIPIENT_NAME]


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ("lat", "FIELD=COLUMN"),
        ("height=Breite", "no field 'height'"),
        ("lat=Höhe", "no column 'Höhe'"),
        ("lat=7", "no column '7'"),
    ],
)
def test_a_bad_override_says_what_is_wrong(override: str, says: str) -> None:
    table = parse_csv(CSV)
    with pytest.raises(MappingError, match=says):
        with_overrides(table, guess_mapping(table.headers), [override])


def _orders(n: int) -> list[OrderCreate]:
    return [
        OrderCreate.model_validate(
            {"recipient_name": f"R{i}", "dropoff": {"address": "x", "lat": 43.7, "lng": 7.4}}
        )
        for i in range(n)
    ]


def test_a_key_is_the_same_for_the_same_orders_at_the_same_place() -> None:
    orders = _orders(3)
    key = batch_key(0, orders)
    assert key == batch_key(0, _orders(3))
    assert key.startswith(KEY_PREFIX)
    assert len(key) <= 255  # the server's limit
    assert batch_key(1, orders) != key
    assert batch_key(0, orders[:2]) != key


def test_batches_cut_the_valid_rows_and_find_rows_by_barcode() -> None:
    table = parse_csv(CSV)
    mapping = with_overrides(table, guess_mapping(table.headers), ["lat=Breite", "lng=Länge"])
    mapping[OrderField.BARCODES] = 5
    valid = [r for r in validate_rows(table, mapping, UTC) if r.ok]
    [first, second] = batches(valid, size=1)
    assert (first.index, first.first_row, first.last_row) == (0, 2, 2)
    assert (second.index, second.first_row) == (1, 3)
    assert first.key != second.key
    assert [o.recipient_name for o in second.orders] == ["Bob"]
    assert rows_with_barcodes(second, ["B2", "Z9"]) == [3]
    assert rows_with_barcodes(first, ["B2"]) == []
    assert len(batches(valid)) == 1
