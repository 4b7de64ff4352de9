"""Orders from a CSV file: parse, map its columns to order fields, validate every row.

Pure: text in, :class:`~shared.schemas.orders.OrderCreate` or errors out. Row numbers are
the file's line numbers as a spreadsheet shows them (the header is row 1), so a
dispatcher can find the line to fix.
"""

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from shared.schemas.orders import OrderCreate


class OrderField(StrEnum):
    """An order field a CSV column can feed."""

    REFERENCE = "reference"
    RECIPIENT_NAME = "recipient_name"
    RECIPIENT_PHONE = "recipient_phone"
    RECIPIENT_EMAIL = "recipient_email"
    ADDRESS = "address"
    LAT = "lat"
    LNG = "lng"
    WINDOW_START = "window_start"
    WINDOW_END = "window_end"
    SERVICE_TIME_S = "service_time_s"
    WEIGHT_KG = "weight_kg"
    VOLUME_M3 = "volume_m3"
    PRIORITY = "priority"
    BARCODES = "barcodes"
    NOTES = "notes"
    INSTRUCTIONS = "instructions"


REQUIRED: frozenset[OrderField] = frozenset(
    {OrderField.RECIPIENT_NAME, OrderField.ADDRESS, OrderField.LAT, OrderField.LNG}
)

LABELS: dict[OrderField, str] = {
    OrderField.REFERENCE: "Reference",
    OrderField.RECIPIENT_NAME: "Recipient name",
    OrderField.RECIPIENT_PHONE: "Phone",
    OrderField.RECIPIENT_EMAIL: "Email",
    OrderField.ADDRESS: "Address",
    OrderField.LAT: "Latitude",
    OrderField.LNG: "Longitude",
    OrderField.WINDOW_START: "Window start",
    OrderField.WINDOW_END: "Window end",
    OrderField.SERVICE_TIME_S: "Service time (s)",
    OrderField.WEIGHT_KG: "Weight (kg)",
    OrderField.VOLUME_M3: "Volume (m³)",
    OrderField.PRIORITY: "Priority",
    OrderField.BARCODES: "Barcodes",
    OrderField.NOTES: "Notes",
    OrderField.INSTRUCTIONS: "Instructions",
}

# Header words (lower case, letters and digits only) that name each field.
_SYNONYMS: dict[OrderField, tuple[str, ...]] = {
    OrderField.REFERENCE: ("reference", "ref", "orderref", "orderid", "ordernumber", "order"),
    OrderField.RECIPIENT_NAME: ("recipientname", "recipient", "name", "customer", "customername"),
    OrderField.RECIPIENT_PHONE: ("recipientphone", "phone", "telephone", "tel", "mobile"),
    OrderField.RECIPIENT_EMAIL: ("recipientemail", "email", "mail", "emailaddress"),
    OrderField.ADDRESS: ("address", "dropoffaddress", "deliveryaddress", "street"),
    OrderField.LAT: ("lat", "latitude", "dropofflat", "y"),
    OrderField.LNG: ("lng", "lon", "long", "longitude", "dropofflng", "dropofflon", "x"),
    OrderField.WINDOW_START: ("windowstart", "from", "start", "earliest", "windowfrom"),
    OrderField.WINDOW_END: ("windowend", "to", "end", "latest", "windowto", "until"),
    OrderField.SERVICE_TIME_S: ("servicetimes", "servicetime", "service"),
    OrderField.WEIGHT_KG: ("weightkg", "weight", "kg"),
    OrderField.VOLUME_M3: ("volumem3", "volume", "m3"),
    OrderField.PRIORITY: ("priority",),
    OrderField.BARCODES: ("barcodes", "barcode", "parcels", "parcel"),
    OrderField.NOTES: ("notes", "note", "comment", "comments"),
    OrderField.INSTRUCTIONS: ("instructions", "deliveryinstructions", "instruction"),
}

ColumnMapping = dict[OrderField, int | None]  # field -> column index (None: not in the file)
FieldColumns = Mapping[OrderField, int | None]


@dataclass(frozen=True, slots=True)
class Table:
    """A parsed CSV: its header and its data rows (each padded to the header's width)."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class RowError:
    column: str  # the header of the column at fault, or the field's label if unmapped
    message: str


@dataclass(frozen=True, slots=True)
class RowResult:
    """One data row: the order it makes, or why it makes none."""

    row: int  # as a spreadsheet numbers it: the header is row 1
    order: OrderCreate | None
    errors: tuple[RowError, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.order is not None


class ImportFormatError(ValueError):
    """The text is not a CSV with a header row."""


def _normal(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def parse_csv(text: str) -> Table:
    """The header and data rows of ``text`` (comma, semicolon or tab separated; a UTF-8
    byte-order mark and blank lines are ignored). Raises ImportFormatError."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise ImportFormatError("the file is empty")
    header_line = text.strip().splitlines()[0]
    # The separator is the one the header uses most (headers rarely hold ',' ';' or tabs).
    delimiter = max(",;\t", key=header_line.count)
    lines = [
        row
        for row in csv.reader(io.StringIO(text), delimiter=delimiter)
        if any(c.strip() for c in row)
    ]
    headers = tuple(h.strip() for h in lines[0])
    if not any(headers):
        raise ImportFormatError("the first line should name the columns")
    width = len(headers)
    rows = tuple(
        tuple(c.strip() for c in row[:width]) + ("",) * (width - len(row)) for row in lines[1:]
    )
    return Table(headers, rows)


def guess_mapping(headers: Sequence[str]) -> ColumnMapping:
    """Which column feeds which field, from the headers: an exact synonym first, each
    column used once; fields with no matching column map to None."""
    normal = [_normal(h) for h in headers]
    taken: set[int] = set()
    mapping: ColumnMapping = {}
    for f in OrderField:
        mapping[f] = None
        for synonym in _SYNONYMS[f]:
            index = next((i for i, n in enumerate(normal) if n == synonym and i not in taken), None)
            if index is not None:
                mapping[f] = index
                taken.add(index)
                break
    return mapping


def missing_required(mapping: FieldColumns) -> list[OrderField]:
    """Required fields no column feeds, in field order."""
    return [f for f in OrderField if f in REQUIRED and mapping.get(f) is None]


def _datetime(value: str, tz: tzinfo) -> datetime:
    """ISO 8601 (``2031-03-14T09:00``, ``2031-03-14 09:00+01:00``); without an offset the
    time is in ``tz``."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def _number(value: str) -> float:
    """``2.5``, or ``2,5`` as spreadsheets in many languages write it."""
    if value.count(",") == 1 and "." not in value:
        value = value.replace(",", ".")
    return float(value)


class _CellError(ValueError):
    def __init__(self, f: OrderField, message: str) -> None:
        super().__init__(message)
        self.field = f


def _payload(cells: Mapping[OrderField, str], tz: tzinfo) -> dict[str, Any]:
    def converted(f: OrderField, convert: Callable[[str], Any], what: str) -> Any:
        raw = cells.get(f, "")
        if not raw:
            return None
        try:
            return convert(raw)
        except ValueError:
            raise _CellError(f, f"{raw!r} is not {what}") from None

    dropoff: dict[str, Any] = {
        "address": cells.get(OrderField.ADDRESS, ""),
        "lat": converted(OrderField.LAT, _number, "a latitude in degrees"),
        "lng": converted(OrderField.LNG, _number, "a longitude in degrees"),
    }
    start = converted(OrderField.WINDOW_START, lambda v: _datetime(v, tz), "a date and time")
    end = converted(OrderField.WINDOW_END, lambda v: _datetime(v, tz), "a date and time")
    if (start is None) != (end is None):
        missing = OrderField.WINDOW_END if end is None else OrderField.WINDOW_START
        raise _CellError(missing, "give both ends of the window, or neither")
    if start is not None:
        dropoff["time_window"] = {"start": start, "end": end}
    service = converted(OrderField.SERVICE_TIME_S, int, "a whole number of seconds")
    if service is not None:
        dropoff["service_time_s"] = service
    payload: dict[str, Any] = {
        "recipient_name": cells.get(OrderField.RECIPIENT_NAME, ""),
        "dropoff": dropoff,
    }
    for f in (OrderField.REFERENCE, OrderField.RECIPIENT_PHONE, OrderField.RECIPIENT_EMAIL):
        if cells.get(f):
            payload[f.value] = cells[f]
    for f in (OrderField.NOTES, OrderField.INSTRUCTIONS):
        if cells.get(f):
            payload[f.value] = cells[f]
    for f, convert, what in (
        (OrderField.WEIGHT_KG, _number, "a weight in kg"),
        (OrderField.VOLUME_M3, _number, "a volume in m³"),
        (OrderField.PRIORITY, int, "a whole number from 0 to 10"),
    ):
        value = converted(f, convert, what)
        if value is not None:
            payload[f.value] = value
    codes = cells.get(OrderField.BARCODES, "")
    if codes:
        payload["barcodes"] = [c for c in re.split(r"[\s|;]+", codes) if c]
    return payload


# pydantic error locations -> the field whose column is at fault
_LOCATIONS: dict[tuple[str, ...], OrderField] = {
    ("dropoff", "address"): OrderField.ADDRESS,
    ("dropoff", "lat"): OrderField.LAT,
    ("dropoff", "lng"): OrderField.LNG,
    ("dropoff", "time_window"): OrderField.WINDOW_END,
    ("dropoff", "service_time_s"): OrderField.SERVICE_TIME_S,
    ("barcodes",): OrderField.BARCODES,
}


def _field_of(loc: tuple[str | int, ...]) -> OrderField | None:
    names = tuple(str(part) for part in loc)
    for length in range(len(names), 0, -1):
        found = _LOCATIONS.get(names[:length])
        if found is not None:
            return found
    try:
        return OrderField(names[0]) if names else None
    except ValueError:
        return None


def _column(f: OrderField | None, table: Table, mapping: FieldColumns) -> str:
    if f is None:
        return "row"
    index = mapping.get(f)
    return table.headers[index] if index is not None else LABELS[f]


def validate_row(
    number: int,
    row: Sequence[str],
    table: Table,
    mapping: FieldColumns,
    tz: tzinfo,
) -> RowResult:
    """The order one row makes, or every reason it makes none."""
    cells = {f: row[i] for f, i in mapping.items() if i is not None and i < len(row)}
    missing = [f for f in OrderField if f in REQUIRED and not cells.get(f)]
    if missing:
        errors = tuple(RowError(_column(f, table, mapping), "is empty") for f in missing)
        return RowResult(number, None, errors)
    try:
        order = OrderCreate.model_validate(_payload(cells, tz))
    except _CellError as exc:
        return RowResult(number, None, (RowError(_column(exc.field, table, mapping), str(exc)),))
    except ValidationError as exc:
        errors = tuple(
            RowError(
                _column(_field_of(error["loc"]), table, mapping),
                error["msg"].removeprefix("Value error, "),
            )
            for error in exc.errors()
        )
        return RowResult(number, None, errors)
    return RowResult(number, order, ())


def validate_rows(table: Table, mapping: FieldColumns, tz: tzinfo) -> list[RowResult]:
    """Every data row of ``table``, checked; naive window times are in ``tz``. Repeated
    barcodes across rows are refused on the later rows (the server would refuse the batch)."""
    results: list[RowResult] = []
    seen_codes: dict[str, int] = {}
    for offset, row in enumerate(table.rows):
        result = validate_row(offset + 2, row, table, mapping, tz)
        order = result.order
        if order is not None:
            clash = next((c for c in order.barcodes if c in seen_codes), None)
            if clash is not None:
                column = _column(OrderField.BARCODES, table, mapping)
                message = f"barcode {clash} is already on row {seen_codes[clash]}"
                result = RowResult(result.row, None, (RowError(column, message),))
            else:
                seen_codes.update(dict.fromkeys(order.barcodes, result.row))
        results.append(result)
    return results


def chunks[T](items: Sequence[T], size: int = 1000) -> list[list[T]]:
    """``items`` in consecutive slices of at most ``size`` (the batch endpoint's limit)."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]
