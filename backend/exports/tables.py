"""Orders and order events as CSV rows (pure: rows in, text out).

A cell a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``, a tab or a
carriage return first) is written with a leading apostrophe, so an export opened in a
spreadsheet never runs what a customer typed into a name or an address.
"""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

ORDER_COLUMNS: tuple[str, ...] = (
    "id",
    "reference",
    "status",
    "recipient_name",
    "recipient_phone",
    "recipient_email",
    "address",
    "lat",
    "lng",
    "window_start",
    "window_end",
    "pickup_address",
    "weight_kg",
    "volume_m3",
    "priority",
    "driver_id",
    "driver_name",
    "route_id",
    "planned_arrival_at",
    "arrived_at",
    "departed_at",
    "created_at",
    "updated_at",
)

EVENT_COLUMNS: tuple[str, ...] = (
    "id",
    "order_id",
    "reference",
    "kind",
    "from_status",
    "to_status",
    "at",
    "actor_role",
    "lat",
    "lng",
    "details",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """One value as CSV text: times in ISO 8601 UTC, enums by value, nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    text = str(getattr(value, "value", value))
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """``rows`` as CSV lines (RFC 4180 quoting, ``\\r\\n`` line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()
