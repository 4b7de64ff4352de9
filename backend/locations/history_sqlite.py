"""The SQLite history writer: a child process that stores groups of fixes.

``python -m backend.locations.history_sqlite PATH`` reads requests on stdin and answers each
on stdout, in order, once the request's rows are committed (or could not be). A request is
a 4-byte big-endian length and a msgpack array of groups ``[org_id, driver_id, [fix, ...]]``,
each fix the array of :class:`backend.locations.fix.Fix`'s fields; an answer is a 4-byte
length and msgpack ``nil`` (committed) or the error's text (nothing of it stored).

Why a process: turning rows into SQL parameters and binding them needs the GIL, and an
event loop at 20,000 fixes/s has none to spare; here it costs the server one msgpack
encoding per group. This module imports nothing heavier than ``sqlite3`` and ``msgspec``
so the child starts in a few tens of milliseconds. It exits when stdin closes (the server
stopped, or died: a request already read is still committed first).
"""

import contextlib
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, BinaryIO

import msgspec

from backend.locations.history_columns import COLUMNS, TABLE

HEADER = 4  # bytes of a frame's length

# What a request decodes to: [org_id, driver_id, [[lat, lng, recorded_at, received_at,
# speed_mps, heading_deg, accuracy_m, altitude_m, battery, source], ...]] per group.
WireGroup = tuple[int, int, list[tuple[Any, ...]]]

_SECOND_TEXT: dict[int, str] = {}


def sqlite_time(epoch_s: float) -> str:
    """The text SQLAlchemy's SQLite DateTime stores (naive UTC, always 6 fraction digits),
    so rows written here compare and read back exactly like rows written through it.

    The same text as ``utc(epoch_s).replace(tzinfo=None).isoformat(" ", "microseconds")``
    in less than half the time (the date-and-seconds part is cached): two per fix add up
    at 10,000+ fixes/s."""
    seconds = int(epoch_s // 1)
    micros = round((epoch_s - seconds) * 1e6)
    if micros == 1_000_000:
        seconds, micros = seconds + 1, 0
    head = _SECOND_TEXT.get(seconds)
    if head is None:
        if len(_SECOND_TEXT) >= 4096:
            _SECOND_TEXT.clear()
        head = _SECOND_TEXT[seconds] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))
    return f"{head}.{micros:06d}"


def frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(HEADER, "big") + payload


def values(groups: Sequence[WireGroup]) -> list[Any]:
    """The parameters of every fix of ``groups``, flat, in :data:`COLUMNS` order."""
    out: list[Any] = []
    extend = out.extend
    received, received_text = None, ""
    for org_id, driver_id, fixes in groups:
        for lat, lng, recorded, at, speed, heading, accuracy, altitude, battery, source in fixes:
            if at != received:  # the same for a whole batch, as a rule
                received = at
                received_text = sqlite_time(at)
            extend(
                (
                    org_id,
                    driver_id,
                    sqlite_time(recorded),
                    received_text,
                    lat,
                    lng,
                    speed,
                    heading,
                    accuracy,
                    altitude,
                    battery,
                    source,
                )
            )
    return out


CACHE_KIB = 64 * 1024
# What a WAL file is cut back to when it starts over: at 20,000 fixes/s it fills ~130 MB
# between two starts; more is left only by a reader that held its snapshot longer.
WAL_KEEP_BYTES = 256 * 1024 * 1024


class Writer:
    """One ``sqlite3`` connection in WAL mode with ``synchronous=NORMAL``: a commit survives
    a crash of the server (not a power cut; use PostgreSQL, or ``synchronous=FULL``, for
    that). Each request becomes one ``INSERT ... VALUES (...), (...)`` statement, its own
    transaction; requests over :attr:`MAX_ROWS` rows are split into several statements in
    one explicit transaction. Checkpoints (the fsyncs) run on a second thread about once
    a second, so a commit only appends to the WAL.

    The WAL starts over from its beginning only when a write begins after a checkpoint has
    copied every frame in it. The second thread's checkpoint never has: this writer keeps
    appending while it runs. So when it ends, the writer checkpoints once more on its own
    connection, between two requests: that copies only what was appended meanwhile (6-14 ms
    at 5,000-20,000 fixes/s here, against 24-71 ms for the whole checkpoint on this thread),
    and the next request's write starts the WAL over. Without it the WAL grew ~0.8 GB a
    minute at 5,000 fixes/s, and the server's mapping of its index with it (bench/README,
    "The history WAL never started over").
    :data:`WAL_KEEP_BYTES` bounds what a longer reader leaves on disk."""

    MAX_ROWS = 2000  # rows per statement: 24,000 parameters, under SQLite's 32,766 floor
    CHECKPOINT_EVERY_S = 1.0

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA wal_autocheckpoint=0")  # see maybe_checkpoint
        self._conn.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")
        # Every commit touches the newest leaf page of each sending driver's range in the
        # (driver, time) index: ~4 KB a driver, 4 MB for 1,000 drivers, over SQLite's
        # default 2 MB cache. With the default, commits slowed as the table grew (pages
        # read back from the OS each time); 64 MB keeps ~15,000 drivers' pages (bench/README,
        # session 8). SQLite takes the memory as pages are used, not up front.
        self._conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        self._head = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES "
        self._row = f"({', '.join('?' for _ in COLUMNS)})"
        self._checkpoint: threading.Thread | None = None
        self._caught_up = True  # the writer's own checkpoint followed the thread's last one
        self._last_checkpoint = time.monotonic()

    def _sql(self, rows: int) -> str:
        return self._head + ",".join([self._row] * rows)

    def write(self, groups: Sequence[WireGroup]) -> None:
        """Store every fix of ``groups`` in one transaction, or none of them."""
        params = values(groups)
        width = len(COLUMNS)
        rows = len(params) // width
        if rows == 0:
            return
        if rows <= self.MAX_ROWS:
            self._conn.execute(self._sql(rows), params)
            return
        step = self.MAX_ROWS * width
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for start in range(0, len(params), step):
                part = params[start : start + step]
                self._conn.execute(self._sql(len(part) // width), part)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _run_checkpoint(self) -> None:
        with contextlib.closing(sqlite3.connect(self._path, timeout=30)) as conn:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def maybe_checkpoint(self) -> None:
        """Called between requests: start the thread's checkpoint about once a second, and
        catch up on the writer's connection once it has ended (see the class's text)."""
        busy = self._checkpoint is not None and self._checkpoint.is_alive()
        if busy:
            return
        if not self._caught_up:
            self._caught_up = True
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.OperationalError as error:  # the next round tries again
                print(f"history checkpoint failed: {error}", file=sys.stderr, flush=True)
        if time.monotonic() - self._last_checkpoint < self.CHECKPOINT_EVERY_S:
            return
        self._last_checkpoint = time.monotonic()
        self._caught_up = False
        self._checkpoint = threading.Thread(
            target=self._run_checkpoint, name="history-checkpoint", daemon=True
        )
        self._checkpoint.start()

    def close(self) -> None:
        if self._checkpoint is not None:
            self._checkpoint.join()
        self._conn.close()
        self._run_checkpoint()


def serve(path: str, requests: BinaryIO, answers: BinaryIO) -> None:
    """Answer requests until ``requests`` ends."""
    writer = Writer(path)
    decode = msgspec.msgpack.Decoder(list[WireGroup]).decode
    encode = msgspec.msgpack.encode
    try:
        while True:
            head = requests.read(HEADER)
            if len(head) < HEADER:
                return
            body = requests.read(int.from_bytes(head, "big"))
            try:
                writer.write(decode(body))
                answer = encode(None)
            except Exception as error:  # answered; the server logs it and fails the waiters
                answer = encode(f"{type(error).__name__}: {error}")
            answers.write(frame(answer))
            answers.flush()
            writer.maybe_checkpoint()
    finally:
        writer.close()


if __name__ == "__main__":
    # Ctrl-C or a service manager's SIGTERM reaches the whole process group: the server
    # stops, closes this process's stdin, and the child ends after its last commit.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(sys.argv[1], sys.stdin.buffer, sys.stdout.buffer)
