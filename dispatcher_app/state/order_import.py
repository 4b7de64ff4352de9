"""Importing orders from a CSV: the file, its column mapping, the report, the upload."""

from collections.abc import Awaitable, Callable
from datetime import tzinfo

import httpx

from app_kit.errors import failure_message
from app_kit.observable import Observable
from shared.api_client import ApiClient, ApiError
from shared.order_import import (
    ColumnMapping,
    ImportFormatError,
    OrderField,
    RowResult,
    Table,
    chunks,
    guess_mapping,
    missing_required,
    parse_csv,
    validate_rows,
)

BATCH = 1000  # the most POST /orders/batch takes at once


class ImportState(Observable):
    """A CSV being imported. Nothing is sent while a row fails, unless the dispatcher
    asks for the valid rows only. ``on_imported`` runs after orders were created."""

    def __init__(
        self,
        client: ApiClient,
        *,
        on_expired: Callable[[], None],
        on_imported: Callable[[], Awaitable[None]],
        tz: tzinfo,
        batch: int = BATCH,
    ) -> None:
        super().__init__()
        self._client = client
        self._on_expired = on_expired
        self._on_imported = on_imported
        self.tz = tz
        self.batch = batch
        self.clear()

    def clear(self) -> None:
        self.is_open = False
        self.file_name = ""
        self.table: Table | None = None
        self.mapping: ColumnMapping = {}
        self.results: list[RowResult] = []
        self.busy = False
        self.error: str | None = None
        self.created: int | None = None  # orders created by the last import
        self.notify()

    def open(self) -> None:
        self.clear()
        self.is_open = True
        self.notify()

    def close(self) -> None:
        """Back to the grid, which says how many orders the last import created."""
        created = self.created
        self.clear()
        self.created = created
        self.notify()

    def load_text(self, text: str, file_name: str = "") -> None:
        """Read a CSV, guess its mapping and check every row."""
        self.file_name, self.created, self.error = file_name, None, None
        try:
            self.table = parse_csv(text)
        except ImportFormatError as exc:
            self.table, self.results, self.mapping = None, [], {}
            self.error = f"Cannot read {file_name or 'the text'}: {exc}."
            self.notify()
            return
        self.mapping = guess_mapping(self.table.headers)
        self._check()

    def map_column(self, key: OrderField, column: int | None) -> None:
        """Feed ``key`` from another column (None: from none), and check again."""
        self.mapping[key] = column
        self.created = None
        self._check()

    def _check(self) -> None:
        assert self.table is not None
        self.results = validate_rows(self.table, self.mapping, self.tz)
        self.notify()

    @property
    def missing(self) -> list[OrderField]:
        return missing_required(self.mapping) if self.table is not None else []

    @property
    def valid(self) -> list[RowResult]:
        return [r for r in self.results if r.ok]

    @property
    def failed(self) -> list[RowResult]:
        return [r for r in self.results if not r.ok]

    @property
    def can_import_all(self) -> bool:
        return bool(self.results) and not self.failed and not self.busy

    @property
    def can_import_valid(self) -> bool:
        return bool(self.valid) and not self.busy

    async def import_all(self) -> None:
        """Every row, when every row is valid."""
        if self.can_import_all:
            await self._send(self.valid)

    async def import_valid(self) -> None:
        """Only the valid rows; the failing ones stay in the report."""
        if self.can_import_valid:
            await self._send(self.valid)

    async def _send(self, rows: list[RowResult]) -> None:
        self.busy, self.error, self.created = True, None, None
        self.notify()
        created = 0
        for part in chunks(rows, self.batch):
            try:
                stored = await self._client.create_orders([r.order for r in part if r.order])
            except (ApiError, httpx.TransportError) as exc:
                message = failure_message(exc, self._client.base_url, self._on_expired)
                self.error = (
                    f"Rows {part[0].row} to {part[-1].row} were refused, none of them "
                    f"stored: {message}"
                    if message
                    else None
                )
                break
            created += len(stored)
        self.busy, self.created = False, created
        if self.error is None:  # all sent: nothing left to import twice
            self.table, self.results, self.mapping = None, [], {}
        self.notify()
        if created:
            await self._on_imported()
