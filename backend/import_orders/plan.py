"""What ``lastmile import orders`` sends: the column mapping with the user's overrides, and
the checked rows in batches, each with the ``Idempotency-Key`` that makes a re-run safe.

Pure: no files, no network. Parsing and row validation are :mod:`shared.order_import`'s,
the same the dispatcher app uses.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from shared.order_import import LABELS, ColumnMapping, OrderField, RowResult, Table, chunks
from shared.schemas.orders import OrderCreate

BATCH = 1000  # the most POST /orders/batch takes at once
KEY_PREFIX = "lastmile-import-"


class MappingError(ValueError):
    """A ``--map FIELD=COLUMN`` that names no field or no column of the file."""


def _column_index(table: Table, column: str) -> int:
    """A header (exact, else ignoring case) or a column number counted from 1."""
    if column in table.headers:
        return table.headers.index(column)
    folded = [h.casefold() for h in table.headers]
    if column.casefold() in folded:
        return folded.index(column.casefold())
    if column.isdigit() and 1 <= int(column) <= len(table.headers):
        return int(column) - 1
    names = ", ".join(repr(h) for h in table.headers)
    raise MappingError(f"no column {column!r} in the file; its columns are {names}")


def with_overrides(table: Table, guessed: ColumnMapping, overrides: Sequence[str]) -> ColumnMapping:
    """``guessed`` changed by ``FIELD=COLUMN`` overrides (``FIELD=`` feeds the field from
    no column). Raises MappingError."""
    mapping = dict(guessed)
    for override in overrides:
        name, sep, column = override.partition("=")
        if not sep:
            raise MappingError(f"--map {override!r}: write FIELD=COLUMN, e.g. lat=Latitude")
        try:
            key = OrderField(name.strip().lower())
        except ValueError:
            fields = ", ".join(f.value for f in OrderField)
            raise MappingError(f"--map {override!r}: no field {name!r}; fields: {fields}") from None
        column = column.strip()
        mapping[key] = _column_index(table, column) if column else None
    return mapping


def describe(fields: Sequence[OrderField]) -> str:
    """``Latitude (lat), Longitude (lng)``: a field's label and its ``--map`` name."""
    return ", ".join(f"{LABELS[f]} ({f.value})" for f in fields)


@dataclass(frozen=True, slots=True)
class Batch:
    """Consecutive valid rows sent in one request (all stored, or none)."""

    index: int  # from 0
    rows: tuple[RowResult, ...]
    key: str  # the Idempotency-Key

    @property
    def orders(self) -> list[OrderCreate]:
        return [r.order for r in self.rows if r.order is not None]

    @property
    def first_row(self) -> int:
        return self.rows[0].row

    @property
    def last_row(self) -> int:
        return self.rows[-1].row


def batch_key(index: int, orders: Sequence[OrderCreate]) -> str:
    """The same orders at the same place in the file make the same key.

    The key fingerprints what is sent (the orders after mapping and time zone) rather than
    the file's bytes, so fixing a row of a later batch and running again keeps the keys of
    the batches already stored: the server answers them from memory instead of creating
    their orders twice.
    """
    body = [index, [o.model_dump(mode="json", exclude_unset=True) for o in orders]]
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return KEY_PREFIX + hashlib.sha256(text.encode()).hexdigest()


def batches(valid: Sequence[RowResult], size: int = BATCH) -> list[Batch]:
    """``valid`` rows in batches of at most ``size``, each with its key."""
    made: list[Batch] = []
    for index, part in enumerate(chunks(valid, size)):
        orders = [r.order for r in part if r.order is not None]
        made.append(Batch(index, tuple(part), batch_key(index, orders)))
    return made


def rows_with_barcodes(batch: Batch, codes: Sequence[str]) -> list[int]:
    """The rows of ``batch`` that carry any of ``codes`` (a server's duplicate barcodes)."""
    wanted = set(codes)
    return [r.row for r in batch.rows if r.order is not None and wanted & set(r.order.barcodes)]
