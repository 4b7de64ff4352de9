"""The offline queue: every action and every GPS fix is written here before it is sent.

One SQLite file (aiosqlite) per driver on the device. An action is stored with its
pictures (BLOBs, in the same transaction: never an action without its photos) and a client
id made here, then sent by :class:`driver_app.state.sync.SyncLoop`. Each action has a
state::

    pending ──send──▶ sending ──answer──▶ done | conflict | failed
       ▲                 │
       └─ no answer, 5xx ┘   (and at every start: the app died while it was sending)

Actions go out strictly in the order they were queued. An action found ``sending`` when the
queue opens was cut off mid-send: it is pending again and goes out with the same client id,
which the server answers with its first answer (nothing is done twice). Fixes wait in their
own table and leave in batches, oldest first; a fix sent twice is dropped by the server.

Commits are durable (``synchronous=FULL`` in WAL mode) unless ``durable=False``: then an
app that is killed loses nothing either, only a power cut may lose the last commits.
"""

import asyncio
import contextlib
import json
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from app_kit.clock import utc_now
from driver_app.logic.actions import ACTION, Action, Files, check_action
from shared.schemas.locations import FixIn

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS actions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    order_ref TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    code TEXT,
    message TEXT,
    result TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS actions_by_state ON actions (state, seq);
CREATE TABLE IF NOT EXISTS action_files (
    client_id TEXT NOT NULL REFERENCES actions (client_id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    position INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (client_id, field, position)
);
CREATE TABLE IF NOT EXISTS fixes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    fix TEXT NOT NULL,
    queued_at TEXT NOT NULL
);
"""
# Finished actions kept (newest first) when the queue opens; their files go when they finish.
KEEP_FINISHED = 500


class ItemState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"
    CONFLICT = "conflict"  # the order changed meanwhile (reassigned, cancelled...)
    FAILED = "failed"  # refused for good, with the server's reason


OPEN_STATES = (ItemState.PENDING, ItemState.SENDING)
PROBLEM_STATES = (ItemState.CONFLICT, ItemState.FAILED)


@dataclass(frozen=True, slots=True)
class QueuedAction:
    seq: int  # the queue's order
    client_id: str
    action: Action
    order_ref: str | None  # the order's reference, for the driver's messages
    state: ItemState
    attempts: int  # sends started
    code: str | None  # the server's error code, for a conflict or a failure
    message: str | None  # what to tell the driver, for a conflict or a failure
    result: dict[str, Any] | None  # the server's answer, once done
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class QueuedFix:
    seq: int
    fix: FixIn
    queued_at: datetime


@dataclass(frozen=True, slots=True)
class Counts:
    pending: int  # actions not yet answered (pending or sending)
    conflicts: int  # actions the server refused because the order changed
    failed: int  # actions the server refused for another reason
    fixes: int  # fixes not yet sent


class Outbox:
    """The queue's file. Open with :meth:`open` (or ``async with await Outbox.open(...)``)."""

    def __init__(self, db: aiosqlite.Connection, now: Callable[[], datetime]) -> None:
        self._db = db
        self._now = now
        self._busy = asyncio.Lock()

    @classmethod
    async def open(
        cls, path: Path | str, *, now: Callable[[], datetime] = utc_now, durable: bool = True
    ) -> Self:
        """Open (or create) the queue at ``path`` and make cut-off sends pending again."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            await db.execute("PRAGMA foreign_keys=ON")
            await db.executescript(_SCHEMA)
            await db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            outbox = cls(db, now)
            await outbox.recover()
            await outbox.prune()
        except BaseException:
            await db.close()
            raise
        return outbox

    async def close(self) -> None:
        await self._db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write at a time, all or nothing (a cancelled write is rolled back)."""
        async with self._busy:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                await self._db.execute("COMMIT")
            except BaseException:
                # Cancelled while BEGIN or COMMIT ran on aiosqlite's thread, the statement
                # still runs there: a ROLLBACK queued after it undoes a BEGIN and finds no
                # transaction after a COMMIT.
                with contextlib.suppress(sqlite3.OperationalError):
                    await self._db.execute("ROLLBACK")
                raise

    # --- actions --------------------------------------------------------------------
    async def enqueue(
        self,
        action: Action,
        files: Files | None = None,
        *,
        order_ref: str | None = None,
        client_id: str | None = None,
    ) -> str:
        """Store ``action`` (and its files) for sending; its client id once it is durable.

        Raises :class:`driver_app.logic.actions.InvalidActionError` for an action the
        server could never accept."""
        files = {field: list(contents) for field, contents in (files or {}).items()}
        check_action(action, files)
        client_id = client_id or uuid.uuid4().hex
        at = self._now().isoformat()
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO actions (client_id, kind, payload, order_ref, state, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    client_id,
                    action.kind.value,
                    action.model_dump_json(),
                    order_ref,
                    ItemState.PENDING.value,
                    at,
                    at,
                ),
            )
            await db.executemany(
                "INSERT INTO action_files (client_id, field, position, data) VALUES (?, ?, ?, ?)",
                [
                    (client_id, field, position, data)
                    for field, contents in files.items()
                    for position, data in enumerate(contents)
                ],
            )
        return client_id

    async def next_action(self) -> QueuedAction | None:
        """The oldest action not yet answered: the only one that may be sent now."""
        rows = await self._select("state IN (?, ?) ORDER BY seq LIMIT 1", OPEN_STATES)
        return rows[0] if rows else None

    async def get(self, client_id: str) -> QueuedAction | None:
        rows = await self._select("client_id = ?", (client_id,))
        return rows[0] if rows else None

    async def actions(self, *states: ItemState) -> list[QueuedAction]:
        """Actions in queue order; only those in ``states`` when given."""
        if not states:
            return await self._select("1 ORDER BY seq", ())
        marks = ", ".join("?" * len(states))
        return await self._select(f"state IN ({marks}) ORDER BY seq", states)

    async def files_of(self, client_id: str) -> Files:
        files: Files = {}
        for field, data in await self._read(
            "SELECT field, data FROM action_files WHERE client_id = ? ORDER BY field, position",
            (client_id,),
        ):
            files.setdefault(field, []).append(bytes(data))
        return files

    async def mark_sending(self, client_id: str) -> None:
        """About to send: if the app dies now, the next start sends it again."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE actions SET state = ?, attempts = attempts + 1, updated_at = ?"
                " WHERE client_id = ?",
                (ItemState.SENDING.value, self._now().isoformat(), client_id),
            )

    async def mark_pending(self, client_id: str) -> None:
        """Not answered (no network, a server error): it goes again, first in line."""
        await self._set_state(client_id, ItemState.PENDING)

    async def mark_done(self, client_id: str, result: dict[str, Any]) -> None:
        """Answered: the server's ``result`` is kept, the pictures are not."""
        await self._set_state(client_id, ItemState.DONE, result=result)

    async def mark_refused(
        self, client_id: str, state: ItemState, *, code: str, message: str
    ) -> None:
        """The server refused it for good (``conflict`` or ``failed``); ``message`` is what
        the driver reads."""
        if state not in PROBLEM_STATES:
            raise ValueError(f"a refusal is a conflict or a failure, not {state}")
        await self._set_state(client_id, state, code=code, message=message)

    async def dismiss(self, client_id: str) -> None:
        """The driver has read about this conflict or failure: forget it."""
        async with self._transaction() as db:
            await db.execute(
                "DELETE FROM actions WHERE client_id = ? AND state IN (?, ?)",
                (client_id, *PROBLEM_STATES),
            )

    async def recover(self) -> int:
        """Sends cut off by the app's end are pending again; how many there were."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE actions SET state = ? WHERE state = ?",
                (ItemState.PENDING.value, ItemState.SENDING.value),
            )
            return cursor.rowcount

    async def prune(self, keep: int = KEEP_FINISHED) -> None:
        """Forget all but the newest ``keep`` done actions (conflicts wait for the driver)."""
        async with self._transaction() as db:
            await db.execute(
                "DELETE FROM actions WHERE state = ? AND seq NOT IN"
                " (SELECT seq FROM actions WHERE state = ? ORDER BY seq DESC LIMIT ?)",
                (ItemState.DONE.value, ItemState.DONE.value, keep),
            )

    async def counts(self) -> Counts:
        by_state = dict(await self._read("SELECT state, COUNT(*) FROM actions GROUP BY state"))
        [(fixes,)] = await self._read("SELECT COUNT(*) FROM fixes")
        return Counts(
            pending=sum(by_state.get(s.value, 0) for s in OPEN_STATES),
            conflicts=by_state.get(ItemState.CONFLICT.value, 0),
            failed=by_state.get(ItemState.FAILED.value, 0),
            fixes=fixes,
        )

    async def _set_state(
        self,
        client_id: str,
        state: ItemState,
        *,
        code: str | None = None,
        message: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE actions SET state = ?, code = ?, message = ?, result = ?, updated_at = ?"
                " WHERE client_id = ?",
                (
                    state.value,
                    code,
                    message,
                    json.dumps(result) if result is not None else None,
                    self._now().isoformat(),
                    client_id,
                ),
            )
            if state not in OPEN_STATES:
                await db.execute("DELETE FROM action_files WHERE client_id = ?", (client_id,))

    async def _select(self, where: str, params: Sequence[object]) -> list[QueuedAction]:
        rows = await self._read(
            "SELECT seq, client_id, payload, order_ref, state, attempts, code, message, result,"
            f" created_at, updated_at FROM actions WHERE {where}",
            params,
        )
        return [_action(row) for row in rows]

    async def _read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        """Rows of a query, never in the middle of a write: the connection is shared, and a
        read inside another coroutine's open transaction would see its half-written rows
        (an action without its photos)."""
        async with self._busy, self._db.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    # --- fixes ----------------------------------------------------------------------
    async def add_fixes(self, fixes: Sequence[FixIn]) -> None:
        """Store fixes for sending, in the order given (the order they were recorded)."""
        if not fixes:
            return
        at = self._now().isoformat()
        async with self._transaction() as db:
            await db.executemany(
                "INSERT INTO fixes (fix, queued_at) VALUES (?, ?)",
                [(fix.model_dump_json(exclude_none=True), at) for fix in fixes],
            )

    async def oldest_fixes(self, limit: int) -> list[QueuedFix]:
        rows = await self._read(
            "SELECT seq, fix, queued_at FROM fixes ORDER BY seq LIMIT ?", (limit,)
        )
        return [
            QueuedFix(seq, FixIn.model_validate_json(fix), datetime.fromisoformat(at))
            for seq, fix, at in rows
        ]

    async def fix_backlog(self) -> tuple[int, datetime | None]:
        """How many fixes wait, and since when the oldest of them does."""
        [(count, oldest)] = await self._read("SELECT COUNT(*), MIN(queued_at) FROM fixes")
        return int(count), datetime.fromisoformat(oldest) if oldest is not None else None

    async def drop_fixes(self, through_seq: int) -> None:
        """The server has these (up to and including ``through_seq``): forget them."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM fixes WHERE seq <= ?", (through_seq,))


def _action(row: aiosqlite.Row | tuple[Any, ...]) -> QueuedAction:
    seq, client_id, payload, order_ref, state, attempts, code, message, result, created, updated = (
        row
    )
    return QueuedAction(
        seq=seq,
        client_id=client_id,
        action=ACTION.validate_json(payload),
        order_ref=order_ref,
        state=ItemState(state),
        attempts=attempts,
        code=code,
        message=message,
        result=json.loads(result) if result is not None else None,
        created_at=datetime.fromisoformat(created),
        updated_at=datetime.fromisoformat(updated),
    )
