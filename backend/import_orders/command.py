"""``lastmile import orders FILE.csv``: read, check, report, then send in batches.

The command is a client of a running server (through :class:`shared.api_client.ApiClient`),
so the orders go through the API's own validation, events, webhooks and notifications.
Rows are checked first, with :mod:`shared.order_import` as in the dispatcher app; nothing
is sent while a row fails, unless ``--valid-only``. Exit codes: :data:`OK`,
:data:`REFUSED` (rows fail), :data:`USAGE` (options, file, missing columns),
:data:`SERVER` (refused by or unreachable server).
"""

import asyncio
import os
import sys
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.prompt import Prompt

from backend.import_orders.plan import (
    BATCH,
    Batch,
    MappingError,
    batches,
    describe,
    with_overrides,
)
from backend.import_orders.report import batch_refused, failures_table, summary
from shared.api_client import ApiClient, ApiError
from shared.order_import import (
    ImportFormatError,
    RowResult,
    guess_mapping,
    missing_required,
    parse_csv,
    validate_rows,
)

OK = 0
REFUSED = 1
USAGE = 2
SERVER = 3
TIMEOUT_S = 120.0  # a batch of 1000 orders (auto-dispatch included) can take a while


@dataclass(frozen=True, slots=True)
class ImportOptions:
    file: Path
    url: str
    email: str | None = None
    password: str | None = None
    tz: str | None = None  # IANA; None: this machine's zone, as the dispatcher app does
    maps: list[str] = field(default_factory=list)
    valid_only: bool = False
    dry_run: bool = False
    batch: int = BATCH


class _UsageError(Exception):
    """Bad options or an unusable file: the message says what to change."""


def _local_zone() -> tzinfo:
    """This machine's IANA zone (so summer and winter windows get their own offsets), else
    its current UTC offset."""
    names = [os.environ.get("TZ", "").lstrip(":")]
    link = os.path.realpath("/etc/localtime")
    names.append(link.partition("zoneinfo/")[2])
    for name in filter(None, names):
        with suppress(ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(name)
    return datetime.now().astimezone().tzinfo or UTC


def _zone(name: str | None) -> tzinfo:
    if name is None:
        return _local_zone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _UsageError(f"--tz {name!r} is not an IANA time zone (e.g. Europe/Paris)") from None


def _checked_rows(options: ImportOptions) -> list[RowResult]:
    try:
        data = options.file.read_bytes()
    except OSError as exc:
        raise _UsageError(f"cannot read {options.file}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _UsageError(f"{options.file} is not UTF-8 text (save the CSV as UTF-8)") from None
    try:
        table = parse_csv(text)
    except ImportFormatError as exc:
        raise _UsageError(f"cannot read {options.file}: {exc}") from None
    try:
        mapping = with_overrides(table, guess_mapping(table.headers), options.maps)
    except MappingError as exc:
        raise _UsageError(str(exc)) from None
    missing = missing_required(mapping)
    if missing:
        names = ", ".join(repr(h) for h in table.headers)
        raise _UsageError(
            f"{options.file} has no column for the required field(s) {describe(missing)}; "
            f"its columns are {names}: name them with --map FIELD=COLUMN, "
            f"e.g. --map {missing[0].value}=COLUMN"
        )
    return validate_rows(table, mapping, _zone(options.tz))


def _password(console: Console, options: ImportOptions) -> str:
    if options.password:
        return options.password
    if sys.stdin.isatty():
        return Prompt.ask(f"Password for {options.email}", password=True, console=console)
    raise _UsageError("give --password or set LASTMILE_PASSWORD (no terminal to ask on)")


@dataclass(slots=True)
class _Sent:
    imported: int = 0
    replayed: int = 0
    refused: bool = False


async def _send(
    console: Console, options: ImportOptions, todo: list[Batch], email: str, password: str
) -> _Sent:
    sent = _Sent()
    async with ApiClient(options.url, timeout_s=TIMEOUT_S) as client:
        try:
            await client.login(email, password)
        except ApiError as exc:  # 401: wrong email or password; 429: too many attempts
            console.print(
                f"[red]error:[/red] sign-in refused for {email}: {exc.message}", highlight=False
            )
            sent.refused = True
            return sent
        total = sum(len(b.rows) for b in todo)
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            console=console,
            transient=False,
        ) as progress:
            task = progress.add_task("importing", total=total)
            for batch in todo:
                try:
                    created = await client.create_orders_once(batch.orders, batch.key)
                except ApiError as exc:
                    progress.console.print(
                        "[red]error:[/red] ", batch_refused(batch, len(todo), exc)
                    )
                    sent.refused = True
                    break
                sent.imported += len(created.orders)
                sent.replayed += len(created.orders) if created.replayed else 0
                progress.advance(task, len(batch.rows))
    return sent


def run_import(console: Console, options: ImportOptions) -> int:
    """Import ``options.file``; the exit code."""
    try:
        results = _checked_rows(options)
        if not options.dry_run and not options.email:
            raise _UsageError("give --email or set LASTMILE_EMAIL (a dispatcher's or an admin's)")
    except _UsageError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True, highlight=False)
        return USAGE
    valid = [r for r in results if r.ok]
    failed = [r for r in results if not r.ok]
    console.print(
        f"{options.file.name}: {len(results)} rows, {len(valid)} valid, {len(failed)} with errors",
        highlight=False,
    )
    if failed:
        console.print(failures_table(failed))
        if not options.valid_only:
            console.print(
                "nothing imported: fix the rows above, or import the valid ones with --valid-only"
            )
            return REFUSED
    if options.dry_run:
        console.print(summary(len(valid), 0, len(failed), dry_run=True), highlight=False)
        return OK
    if not valid:
        console.print(summary(0, 0, len(failed)))
        return REFUSED if failed else OK
    assert options.email is not None
    try:
        password = _password(console, options)
    except _UsageError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        return USAGE
    todo = batches(valid, options.batch)
    try:
        sent = asyncio.run(_send(console, options, todo, options.email, password))
    except httpx.TransportError as exc:
        console.print(
            f"[red]error:[/red] cannot reach {options.url} ({exc or type(exc).__name__}); "
            "run the same command again: batches already stored are recognised, not "
            "created twice",
            soft_wrap=True,
            highlight=False,
        )
        return SERVER
    console.print(summary(sent.imported, sent.replayed, len(failed)), highlight=False)
    if sent.refused:
        if sent.imported:
            console.print(
                "the earlier batches are stored; run the same command again once fixed: "
                "they are recognised, not created twice"
            )
        return SERVER
    return OK
