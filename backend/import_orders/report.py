"""What ``lastmile import orders`` prints: the failing rows, the refusals, the summary."""

from collections.abc import Sequence

from rich.table import Table as RichTable
from rich.text import Text

from backend.import_orders.plan import Batch, rows_with_barcodes
from shared.api_client import ApiError
from shared.order_import import RowResult


def failures_table(failed: Sequence[RowResult]) -> RichTable:
    """One line per problem: the row as a spreadsheet numbers it, the column, why."""
    table = RichTable(title=f"{len(failed)} row(s) with errors", title_justify="left")
    table.add_column("Row", justify="right", style="bold")
    table.add_column("Column")
    table.add_column("Problem", overflow="fold")
    for result in failed:
        for error in result.errors:
            table.add_row(str(result.row), error.column, error.message)
    return table


def rows_text(rows: Sequence[int]) -> str:
    return "row " + str(rows[0]) if len(rows) == 1 else "rows " + ", ".join(map(str, rows))


def batch_refused(batch: Batch, count: int, exc: ApiError) -> Text:
    """Which batch the server refused, which of its rows are at fault when it says so."""
    where = (
        f"batch {batch.index + 1} of {count} (rows {batch.first_row} to {batch.last_row}) was "
        f"refused, none of its orders stored: {exc.message} ({exc.status} {exc.code})"
    )
    details = exc.details if isinstance(exc.details, dict) else {}
    codes = details.get("barcodes")
    if exc.code == "duplicate_barcode" and isinstance(codes, list):
        culprits = rows_with_barcodes(batch, [str(c) for c in codes])
        if culprits:
            where += f"; the barcodes are on {rows_text(culprits)}"
    return Text(where)


def summary(imported: int, replayed: int, skipped: int, *, dry_run: bool = False) -> str:
    """``imported 12 orders, 1 row skipped`` (and how many an earlier run had stored)."""
    orders = f"{imported} order{'' if imported == 1 else 's'}"
    line = f"dry run: {orders} would be imported" if dry_run else f"imported {orders}"
    if replayed:
        line += f" ({replayed} of them already by an earlier run, not created again)"
    return line + f", {skipped} row{'' if skipped == 1 else 's'} skipped"
