"""Soak: location ingest held at one rate for minutes, the server's memory sampled throughout.

    .venv/bin/python bench/soak.py [--seconds 600] [--rate 20000] [--quick] [--straight]
        [--no-stops] [--allocator jemalloc | --preload PATH]

Seeds a temporary SQLite database like ``bench/ingest.py`` (its ``seed`` and ``Load``),
starts ``python -m backend serve``, opens one dispatcher socket (so the fan-out works as in
production), then has N drivers send batches of 10 fixes over the driver WebSocket at
``--rate`` fixes/s offered for ``--seconds``, each driving back and forth over 2.2 km past
its stops (``--straight``: north without end, as before 2026-12-06). Every ``--sample-s``
it reads the server's RSS (``VmRSS`` of the server process, and of its history writer
child), the size of SQLite's WAL file and the fixes acknowledged since the last sample.
At the end the server is stopped (SIGTERM: it commits what is pending) and the history is
counted: ``lost_acked_fixes`` is how many acknowledged fixes the table lacks (acknowledged
minus stored; no fix is stored twice, which is checked).

Memory: ``rss_start_mb`` is the server's RSS at the end of the warm-up (``--warmup-s``, by
default a tenth of the run), ``rss_end_mb`` the last sample, and ``rss_slope_mb_per_min``
the least-squares slope of the samples after the warm-up. Prints a table, then one JSON line.

Allocator: ``--allocator jemalloc`` runs the server (and its history writer child) with
Debian's jemalloc (``libjemalloc2``) in ``LD_PRELOAD``; ``--preload PATH`` preloads another
library. Only the server's environment gets it, not this process's. ``MALLOC_CONF`` in the
environment reaches the server as it is. The JSON says which library the server mapped.
"""

import argparse
import asyncio
import contextlib
import dataclasses
import json
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._backend import migrated, serve
from bench._backend import stop as stop_server
from bench.ingest import SECRET, Load, children, pct, seed


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


JEMALLOC = "libjemalloc.so.2"
# Drivers drive back and forth over this much latitude (2.2 km, at 40 m/s), past their
# stops: a steady state. Going north without end (--straight), each driver's leg to its
# next stop grows 2.4 km a minute, and with it what its ETAs hold (the leg's grid).
SHUTTLE_DEG = 0.02
LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/lib64")


def jemalloc_path() -> str:
    """Where Debian's ``libjemalloc2`` (or another distribution's) put the library."""
    for directory in LIB_DIRS:
        if (Path(directory) / JEMALLOC).is_file():
            return str(Path(directory) / JEMALLOC)
    raise SystemExit(f"{JEMALLOC} not found in {', '.join(LIB_DIRS)}: apt-get install libjemalloc2")


def mapped(pid: int, library: str) -> bool:
    """Whether ``library`` (a path or file name) is mapped into process ``pid``."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except FileNotFoundError:
        return False
    return Path(library).name in maps


def slope_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) points, in MB per minute (0 for < 2 points)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    cov = sum((t - mean_t) * (y - mean_y) for t, y in points)
    return cov / var * 60


def stored_fixes(db: Path) -> tuple[int, int]:
    """Rows in the history, and distinct (driver, recorded_at) among them."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT count(*) FROM location_fixes").fetchone()[0]
        distinct = conn.execute(
            "SELECT count(*) FROM (SELECT DISTINCT driver_id, recorded_at FROM location_fixes)"
        ).fetchone()[0]
    return int(rows), int(distinct)


async def run(
    seconds: float,
    rate: float,
    drivers: int,
    sample_s: float,
    warmup_s: float | None,
    dispatcher_socket: bool = True,
    preload: str | None = None,
    shuttle_deg: float | None = SHUTTLE_DEG,
    stops_today: bool = True,
) -> dict[str, Any]:
    warmup_s = seconds / 10 if warmup_s is None else warmup_s
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the server inherits it
    data = await migrated("lastmile-soak-", SECRET)
    dispatcher, driver_tokens, _ = await seed(
        data.database_url, drivers, 1, stops_today=stops_today
    )
    log = Path(tempfile.gettempdir()) / "lastmile-bench-soak-server.log"  # kept for reading
    served = (
        data
        if preload is None
        else dataclasses.replace(data, env={**data.env, "LD_PRELOAD": preload})
    )
    server, base = await serve(served, log)
    preloaded = preload is not None and mapped(server.pid, preload)
    if preload is not None and not preloaded:
        await stop_server(server)
        await asyncio.to_thread(shutil.rmtree, data.path, True)
        raise SystemExit(f"the server did not map {preload}; see {log}")
    load = Load(base, driver_tokens, "ws", shuttle_deg)
    tasks: list[asyncio.Task[None]] = []
    samples: list[dict[str, float]] = []
    try:
        if dispatcher_socket:
            ready = asyncio.Event()
            fleet = f"{base.replace('http://', 'ws://', 1)}/api/v1/fleet/ws?token={dispatcher}"
            tasks.append(asyncio.create_task(load.watch(fleet, load.dispatcher_ms, ready)))
            await ready.wait()

        async def sample() -> None:
            started, last_n, last_t = time.monotonic(), load.accepted, time.monotonic()
            while True:
                await asyncio.sleep(sample_s)
                now, n = time.monotonic(), load.accepted
                writer = sum(rss_mb(child) for child in children(server.pid))
                wal = data.path / "lastmile.db-wal"
                samples.append(
                    {
                        "t_s": now - started,
                        "fixes_per_s": (n - last_n) / (now - last_t),
                        "rss_mb": rss_mb(server.pid),
                        "writer_rss_mb": writer,
                        "wal_mb": wal.stat().st_size / 1e6 if wal.exists() else 0.0,
                        "dispatcher_p99_ms": pct(load.dispatcher_ms, 0.99),
                    }
                )
                load.dispatcher_ms.clear()
                s = samples[-1]
                print(
                    f"{s['t_s']:7.0f} {s['fixes_per_s']:12,.0f} {s['rss_mb']:9.1f} "
                    f"{s['writer_rss_mb']:10.1f} {s['wal_mb']:8.0f} {s['dispatcher_p99_ms']:10.0f}",
                    flush=True,
                )
                last_n, last_t = n, now

        head = ("t_s", 7), ("fixes/s", 12), ("rss_mb", 9), ("writer_mb", 10), ("wal_mb", 8)
        print(" ".join(f"{name:>{width}}" for name, width in head), f"{'p99_ms':>10}")
        tasks.append(asyncio.create_task(sample()))
        started = time.monotonic()
        await load.drive(rate, seconds)
        elapsed = time.monotonic() - started
        acked, errors = load.accepted, load.errors
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws in load.sockets.values()), return_exceptions=True)
        await stop_server(server)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        rows, distinct = stored_fixes(data.path / "lastmile.db")
    finally:
        await asyncio.to_thread(shutil.rmtree, data.path, True)
    after = [s for s in samples if s["t_s"] >= warmup_s] or samples[-1:]
    steady = [s["fixes_per_s"] for s in after]
    return {
        "fixes_per_s": round(acked / elapsed),
        "fixes_per_s_after_warmup": round(sum(steady) / len(steady)) if steady else 0,
        "offered_per_s": rate,
        "seconds": round(elapsed, 1),
        "acked_fixes": acked,
        "stored_fixes": rows,
        "stored_twice": rows - distinct,
        "send_errors": errors,
        "rss_start_mb": round(after[0]["rss_mb"], 1) if after else None,
        "rss_end_mb": round(after[-1]["rss_mb"], 1) if after else None,
        "rss_max_mb": round(max(s["rss_mb"] for s in samples), 1) if samples else None,
        "writer_rss_end_mb": round(after[-1]["writer_rss_mb"], 1) if after else None,
        "wal_max_mb": round(max(s["wal_mb"] for s in samples)) if samples else None,
        "rss_slope_mb_per_min": round(slope_per_min([(s["t_s"], s["rss_mb"]) for s in after]), 2),
        "warmup_s": warmup_s,
        "drivers": drivers,
        "dispatcher_socket": dispatcher_socket,
        "stops_today": stops_today,
        "preload": preload if preloaded else None,
        "malloc_conf": served.env.get("MALLOC_CONF") if preloaded else None,
        "lost_acked_fixes": max(0, acked - distinct),
        "shuttle_deg": shuttle_deg,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="how long to hold (600)")
    parser.add_argument("--rate", type=float, default=20_000.0, help="fixes/s offered (20,000)")
    parser.add_argument("--drivers", type=int, default=200, help="simulated drivers (200)")
    parser.add_argument("--sample-s", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--warmup-s", type=float, help="left out of the slope (a tenth)")
    parser.add_argument(
        "--no-dispatcher", action="store_true", help="no fleet socket open (no fan-out frames)"
    )
    parser.add_argument(
        "--straight",
        action="store_true",
        help="drivers go north without end (their legs, and ETA data, grow all the time)",
    )
    parser.add_argument(
        "--no-stops", action="store_true", help="drivers with orders but no route today"
    )
    parser.add_argument("--quick", action="store_true", help="15 s at 2,000 fixes/s")
    allocator = parser.add_mutually_exclusive_group()
    allocator.add_argument(
        "--allocator",
        choices=("glibc", "jemalloc"),
        default="glibc",
        help="the server's malloc: glibc's (default) or jemalloc (libjemalloc2) in LD_PRELOAD",
    )
    allocator.add_argument(
        "--preload", metavar="PATH", help="a library for the server's LD_PRELOAD"
    )
    args = parser.parse_args()
    preload = args.preload or (jemalloc_path() if args.allocator == "jemalloc" else None)
    if args.quick:
        args.seconds, args.rate, args.sample_s, args.drivers = 15.0, 2000.0, 1.0, 50
    result = asyncio.run(
        run(
            args.seconds,
            args.rate,
            args.drivers,
            args.sample_s,
            args.warmup_s,
            dispatcher_socket=not args.no_dispatcher,
            preload=preload,
            shuttle_deg=None if args.straight else SHUTTLE_DEG,
            stops_today=not args.no_stops,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
