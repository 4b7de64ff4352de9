"""The SQLite history writer keeps its WAL file bounded while fixes keep coming.

Drivers with no route today send positions and nothing else in the server writes: the
history writer child is then the database's only writer. Its checkpoints ran on another
thread while it kept appending, so none of them ever copied every frame and SQLite never
started the WAL over: 4.9 GB after 6 minutes at 5,000 fixes/s (bench/README, "The history
WAL never started over").
"""

import sqlite3
import time
from pathlib import Path

from backend.locations.history_columns import COLUMNS, TABLE
from backend.locations.history_sqlite import Writer

DRIVERS = 200
PER_COMMIT = 20  # drivers a request carries a fix for: ~25 pages appended a commit
COMMITS = 2500  # ~250 MB of frames, if the WAL were never started over
MB = 1024 * 1024


def _make_table(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        columns = ", ".join(COLUMNS)  # the writer's columns; their types do not matter here
        conn.execute(f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, {columns})")
        conn.execute(f"CREATE INDEX ix_driver_time ON {TABLE} (driver_id, recorded_at)")
    conn.close()


def _request(commit: int) -> list[tuple[int, int, list[tuple[object, ...]]]]:
    now = time.time()
    first = commit * PER_COMMIT
    return [
        (1, (first + i) % DRIVERS, [(52.5, 13.4, now, now, 8.0, 90.0, 5.0, 40.0, 0.8, "app")])
        for i in range(PER_COMMIT)
    ]


def test_the_wal_starts_over_while_the_writer_is_the_only_writer(tmp_path: Path) -> None:
    path = tmp_path / "lastmile.db"
    _make_table(path)
    writer = Writer(str(path))
    writer.CHECKPOINT_EVERY_S = 0.02  # fifty rounds a second instead of one: a short test
    wal = Path(f"{path}-wal")
    largest = 0
    try:
        for commit in range(COMMITS):
            writer.write(_request(commit))
            largest = max(largest, wal.stat().st_size)
            writer.maybe_checkpoint()
    finally:
        writer.close()
    with sqlite3.connect(path) as conn:
        (rows,) = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
    conn.close()
    assert rows == COMMITS * PER_COMMIT
    # Once the WAL starts over, new frames overwrite its beginning: the file stops growing.
    assert largest < 20 * MB, f"the WAL file reached {largest / MB:.0f} MB"
