"""Ingest throughput with 1, 2 and 4 workers on PostgreSQL + Redis beside one SQLite process;
fix→customer latency across workers at a fixed rate; acknowledged fixes counted in the history.

    .venv/bin/python bench/scale.py [--quick] [--workers 1,2,4] [--seconds 10] [--rate 5000]

Starts a private redis-server and PostgreSQL (the test suite's ``run_redis``/``run_postgres``),
seeds the same organisation in PostgreSQL and in a SQLite file (``bench/ingest.py``'s
``seed``), then for each step starts that many ``python -m backend serve`` processes on one
database (and one Redis with PostgreSQL) and drives them from load-generator *processes*
(``bench/ingest.py``'s ``Load``: drivers on the driver WebSocket, batches of 10, one batch in
flight each), each driver pinned to one worker (``driver % workers``, as nginx pins a device):

* throughput: every driver sends its next batch as soon as the last one is acknowledged
  (closed loop, far above capacity): ``fixes_per_s_by_workers`` is what the workers accept;
* latency (the step with two workers, or the largest below it): ``--rate`` fixes/s paced,
  each customer socket on another worker than its driver, so every frame crosses Redis;
* kill: the same rate while one worker is SIGKILLed; then every acknowledged fix must be a
  row of the history (``lost_acked_fixes``, over every step and both databases).

Prints a table, then one JSON line.
"""

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import resource
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from backend.db import create_engine
from bench._backend import DataDir, migrated, serve
from bench._backend import stop as stop_server
from bench.ingest import SECRET, Load, cpu_s, pct, seed
from tests.postgres_server import run_postgres
from tests.redis_server import run_redis

CLOSED_LOOP = 1_000_000  # offered fixes/s far above capacity: each driver waits only for its ack
console = Console(highlight=False, width=130)


# -- the load generator: a child process driving its share of the drivers -----------------


class PinnedLoad(Load):
    """``Load``'s drivers on one worker, each on the same track in every step: the track
    follows the driver's number among all drivers and one origin time (another number
    or origin would move a driver kilometres at once, and the workers would refuse its
    fixes as impossible speed)."""

    def __init__(self, base: str, drivers: list[tuple[int, str]], t0: float) -> None:
        super().__init__(base, [token for _, token in drivers], "ws")
        self.numbers = [number for number, _ in drivers]
        self.t0 = t0

    def _batch(self, i: int) -> list[dict[str, Any]]:
        return super()._batch(self.numbers[i])


def generator_main(conn: Connection) -> None:
    """A load-generator process: commands from ``conn``, figures back on it."""
    asyncio.run(_generate(conn))


async def _generate(conn: Connection) -> None:
    loads: list[PinnedLoad] = []
    watch = Load("", [], "ws")  # holds the customer and dispatcher sockets of this process
    tasks: list[asyncio.Task[None]] = [asyncio.create_task(watch.watch_lag())]

    async def close_all() -> None:
        for task in tasks[1:]:
            task.cancel()
        await asyncio.gather(*tasks[1:], return_exceptions=True)
        del tasks[1:]
        sockets = [ws for load in loads for ws in load.sockets.values()]
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)

    acked_before = 0  # acknowledged by the loads of earlier steps
    while True:
        command: dict[str, Any] = await asyncio.to_thread(conn.recv)
        op = command["op"]
        if op == "setup":  # {base: [driver tokens]}: a new step's workers
            acked_before += sum(load.accepted for load in loads)
            await close_all()
            watch.open_sockets = watch.closed_sockets = 0
            loads = [
                PinnedLoad(base, drivers, command["t0"])
                for base, drivers in command["drivers"].items()
            ]
            conn.send({"ok": True})
        elif op == "watch":  # customer and dispatcher sockets; answers once all are open
            events = []
            for url, sink, on in command["sockets"]:
                ready = asyncio.Event()
                events.append(ready)
                target = watch.customer_ms if sink == "customer" else watch.dispatcher_ms
                tasks.append(asyncio.create_task(watch.watch(url, target, ready, on)))
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 120)
            conn.send({"open": watch.open_sockets})
        elif op == "drive":
            drivers = sum(len(load.tokens) for load in loads)
            watch.customer_ms.clear()
            watch.dispatcher_ms.clear()
            watch.lag_ms.clear()
            errors = sum(load.errors for load in loads)
            cpu, t = time.process_time(), time.monotonic()
            rates = await asyncio.gather(
                *(
                    load.drive(command["rate"] * len(load.tokens) / drivers, command["seconds"])
                    for load in loads
                )
            )
            conn.send(
                {
                    "fixes_per_s": sum(rates),
                    "acked": acked_before + sum(load.accepted for load in loads),
                    "errors": sum(load.errors for load in loads) - errors,
                    "cpu": (time.process_time() - cpu) / (time.monotonic() - t),
                    "lag_p99_ms": pct(watch.lag_ms, 0.99),
                    "sockets": (watch.open_sockets, watch.closed_sockets),
                    "customer_ms": watch.customer_ms,
                    "dispatcher_ms": watch.dispatcher_ms,
                }
            )
        else:  # "stop"
            await close_all()
            tasks[0].cancel()
            conn.send({"acked": acked_before + sum(load.accepted for load in loads)})
            return


class Generators:
    """The generator processes, each with its share of the drivers and watchers."""

    def __init__(self, count: int) -> None:
        self.t0 = time.time()  # the drivers' tracks start here (see ``Load._batch``)
        context = multiprocessing.get_context("spawn")
        pipes = [context.Pipe() for _ in range(count)]
        self.conns = [ours for ours, _ in pipes]
        self.processes = [
            context.Process(target=generator_main, args=(theirs,), daemon=True)
            for _, theirs in pipes
        ]
        for process in self.processes:
            process.start()

    async def ask(self, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for conn, command in zip(self.conns, commands, strict=True):
            conn.send(command)
        return list(await asyncio.gather(*(asyncio.to_thread(c.recv) for c in self.conns)))

    async def setup(self, drivers: list[tuple[str, str]]) -> None:
        """``drivers``: (worker base URL, token); dealt round-robin to the processes."""
        shares: list[dict[str, list[tuple[int, str]]]] = [{} for _ in self.conns]
        for i, (base, token) in enumerate(drivers):
            shares[i % len(shares)].setdefault(base, []).append((i, token))
        await self.ask([{"op": "setup", "drivers": share, "t0": self.t0} for share in shares])

    async def watch(self, sockets: list[tuple[str, str, str]]) -> None:
        shares: list[list[tuple[str, str, str]]] = [[] for _ in self.conns]
        for i, socket in enumerate(sockets):
            shares[i % len(shares)].append(socket)
        await self.ask([{"op": "watch", "sockets": share} for share in shares])

    async def drive(self, rate: float, seconds: float) -> dict[str, Any]:
        each = rate / len(self.conns)
        answers = await self.ask(
            [{"op": "drive", "rate": each, "seconds": seconds} for _ in self.conns]
        )
        return {
            "fixes_per_s": sum(a["fixes_per_s"] for a in answers),
            "acked": sum(a["acked"] for a in answers),
            "errors": sum(a["errors"] for a in answers),
            "cpu": [a["cpu"] for a in answers],
            "lag_p99_ms": max(a["lag_p99_ms"] for a in answers),
            "sockets": [a["sockets"] for a in answers],
            "customer_ms": [ms for a in answers for ms in a["customer_ms"]],
            "dispatcher_ms": [ms for a in answers for ms in a["dispatcher_ms"]],
        }

    async def close(self) -> int:
        """Stop the processes; the fixes they had acknowledged in all."""
        answers = await self.ask([{"op": "stop"} for _ in self.conns])
        for process in self.processes:
            await asyncio.to_thread(process.join, 10)
        return sum(int(a["acked"]) for a in answers)


# -- CPU of the parts ------------------------------------------------------------------------


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a worker's history writer; PostgreSQL's backends)."""
    found = [pid]
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            found += tree(int(child))
    return found


def tree_cpu_s(pid: int) -> float:
    total = 0.0
    for each in tree(pid):
        with contextlib.suppress(OSError):
            total += cpu_s(each)
    return total


def server_pid(name: str, port: int) -> int | None:
    """The process of ``name`` (redis-server, postgres) started with ``port`` on its line."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if argv and Path(argv[0].decode()).name.startswith(name):
                line = b" ".join(argv).decode()
                if f" {port}" in line or f":{port}" in line:
                    return int(proc.name)
    return None


def machine_busy_s() -> float:
    """CPU seconds every core of the machine has spent busy since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuMeter:
    """CPU share (1.0 = one core) of named process trees over a phase."""

    pids: dict[str, list[int]]
    before: dict[str, float] = field(default_factory=dict)
    t: float = 0.0

    def _now(self) -> dict[str, float]:
        now = {name: sum(tree_cpu_s(p) for p in pids) for name, pids in self.pids.items()}
        now["machine"] = machine_busy_s()
        return now

    def start(self) -> None:
        self.before, self.t = self._now(), time.monotonic()

    def shares(self) -> dict[str, float]:
        elapsed = time.monotonic() - self.t
        return {k: (v - self.before[k]) / elapsed for k, v in self._now().items()}


# -- one step: N workers on one database -----------------------------------------------------


@dataclass
class Step:
    database: str
    workers: int
    fixes_per_s: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    generator_cpu: list[float] = field(default_factory=list)
    generator_lag_p99_ms: float = 0.0
    errors: int = 0


@dataclass
class Latency:
    offered: float
    accepted: float = 0.0
    customer_ms: list[float] = field(default_factory=list)
    dispatcher_ms: list[float] = field(default_factory=list)
    generator_lag_p99_ms: float = 0.0
    killed: bool = False  # the kill phase's worker died of SIGKILL
    kill_errors: int = 0  # batches sent to it that got no acknowledgement


async def start_workers(data: DataDir, count: int, name: str) -> list[tuple[Any, str]]:
    logs = Path(tempfile.gettempdir())
    return list(
        await asyncio.gather(
            *(serve(data, logs / f"lastmile-bench-scale-{name}-{i}.log") for i in range(count))
        )
    )


async def run_step(
    step: Step,
    data: DataDir,
    generators: Generators,
    tokens: tuple[str, list[str], list[str]],
    seconds: float,
    others: dict[str, list[int]],
    latency: Latency | None,
    dispatchers: str = "every",
) -> None:
    """Throughput with ``step.workers`` workers; then, given ``latency``, the paced
    cross-worker phase and the kill phase. ``dispatchers``: a dispatcher socket on
    ``"every"`` worker or only on the first (``"one"``)."""
    dispatcher, driver_tokens, customer_tokens = tokens
    workers = await start_workers(data, step.workers, f"{step.database}{step.workers}")
    bases = [base for _, base in workers]
    ws = [base.replace("http://", "ws://", 1) for base in bases]
    try:
        await generators.setup([(bases[i % len(bases)], t) for i, t in enumerate(driver_tokens)])
        # A dispatcher on every worker: each one's hub takes the organisation's frames.
        watched = ws if dispatchers == "every" else ws[:1]
        await generators.watch(
            [(f"{w}/api/v1/fleet/ws?token={dispatcher}", "dispatcher", "hello") for w in watched]
        )
        await generators.drive(1000, min(2.0, seconds))  # warm-up: the workers know the drivers
        await asyncio.sleep(1.0)  # and have loaded who may see them
        meter = CpuMeter(
            {
                "workers": [process.pid for process, _ in workers],
                "generators": [p.pid or 0 for p in generators.processes],
                **others,
            }
        )
        meter.start()
        got = await generators.drive(CLOSED_LOOP, seconds)
        step.cpu = meter.shares()
        step.fixes_per_s = got["fixes_per_s"]
        step.generator_cpu = got["cpu"]
        step.generator_lag_p99_ms = got["lag_p99_ms"]
        step.errors = got["errors"]
        if latency is None:
            return
        await asyncio.sleep(1.0)  # the saturated phase's backlog drains
        # Customer sockets of driver i's two orders on the worker after its own.
        customers = [
            (f"{ws[(j // 2 + 1) % len(ws)]}/api/v1/track/{token}/ws", "customer", "snapshot")
            for j, token in enumerate(customer_tokens[: 2 * len(driver_tokens)])
        ]
        await generators.watch(customers)
        await asyncio.sleep(1)
        got = await generators.drive(latency.offered, seconds)
        latency.accepted = got["fixes_per_s"]
        opened = sum(n - closed for n, closed in got["sockets"])
        if opened < len(customers) + len(watched):
            wanted = len(customers) + len(watched)
            raise SystemExit(f"only {opened} of {wanted} watching sockets open")
        latency.customer_ms = got["customer_ms"]
        # The dispatcher sockets see every driver; those of other workers cross Redis.
        latency.dispatcher_ms = got["dispatcher_ms"]
        latency.generator_lag_p99_ms = got["lag_p99_ms"]
        # Kill: the last worker dies in the middle of a paced phase; its drivers' batches in
        # flight go unacknowledged (they would be sent again), the acknowledged ones stay.
        victim = workers[-1][0]
        loop = asyncio.get_running_loop()
        loop.call_later(seconds / 2, victim.send_signal, signal.SIGKILL)
        got = await generators.drive(latency.offered, seconds)
        latency.killed = victim.poll() == -signal.SIGKILL
        latency.kill_errors = got["errors"]
    finally:
        for process, _ in workers:
            if process.poll() is None:
                await stop_server(process)
            for pid in tree(process.pid)[1:]:  # a killed worker's history writer, if any
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)


async def count_rows(data: DataDir) -> tuple[int, int]:
    """Rows of the history, and (PostgreSQL) its table, indexes and TOAST on disk in bytes."""
    url = data.database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        with contextlib.closing(sqlite3.connect(path)) as db:
            return int(db.execute("SELECT count(*) FROM location_fixes").fetchone()[0]), 0
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT count(*) FROM location_fixes"))
            size = await conn.execute(text("SELECT pg_total_relation_size('location_fixes')"))
            return int(rows.scalar_one()), int(size.scalar_one())
    finally:
        await engine.dispose()


async def run(
    workers_list: list[int],
    seconds: float,
    rate: float,
    drivers: int,
    generator_count: int,
    sqlite: bool = True,
    dispatchers: str = "every",
) -> dict[str, Any]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the workers inherit it
    load_before = os.getloadavg()
    started = time.monotonic()
    generators = Generators(generator_count)
    plan_t0 = generators.t0
    steps: list[Step] = []
    latency = Latency(rate)
    latency_workers = max([n for n in workers_list if 1 < n <= 2] or [max(workers_list)])
    lost: dict[str, int] = {}
    made: list[DataDir] = []
    bytes_per_row = 0.0  # PostgreSQL's history on disk per fix
    try:
        with run_redis() as redis_url, run_postgres() as postgres:
            pg_url = await asyncio.to_thread(postgres.create_database, "bench")
            pg_data = await migrated(
                "lastmile-bench-scale-pg-", SECRET, DATABASE_URL=pg_url, REDIS_URL=redis_url
            )
            made.append(pg_data)
            plan: list[tuple[str, DataDir, list[int]]] = [("postgresql", pg_data, workers_list)]
            if sqlite:
                made.append(await migrated("lastmile-bench-scale-", SECRET))
                plan.insert(0, ("sqlite", made[-1], [1]))
            tokens = {name: await seed(data.database_url, drivers, 1) for name, data, _ in plan}
            redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
            found = {
                "postgres": server_pid("postgres", postgres.port),
                "redis": server_pid("redis-server", redis_port),
            }
            others = {name: [pid] for name, pid in found.items() if pid is not None}
            print(f"servers up, databases seeded in {time.monotonic() - started:.0f} s", flush=True)
            for database, data, counts in plan:
                for n in counts:
                    step = Step(database, n)
                    steps.append(step)
                    wanted = latency if database == "postgresql" and n == latency_workers else None
                    parts = {} if database == "sqlite" else others
                    await run_step(
                        step,
                        data,
                        generators,
                        tokens[database],
                        seconds,
                        parts,
                        wanted,
                        dispatchers,
                    )
                    print(
                        f"{database}, {n} workers: {step.fixes_per_s:,.0f} fixes/s, errors "
                        f"{step.errors}, CPU {_cpu_text(step.cpu)} "
                        f"({time.monotonic() - started:.0f} s)",
                        flush=True,
                    )
                # The generators' count of acknowledged fixes, against this database's rows.
                acked = await generators.close()
                rows, size = await count_rows(data)
                if size:
                    bytes_per_row = size / max(rows, 1)
                lost[database] = max(0, acked - rows)
                print(f"{database}: {acked:,} fixes acknowledged, {rows:,} rows stored", flush=True)
                if database == "sqlite":
                    generators = Generators(generator_count)
                    generators.t0 = plan_t0
    finally:
        for process in generators.processes:
            if process.is_alive():
                process.kill()
        for data in made:
            shutil.rmtree(data.path, ignore_errors=True)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    figures = report(steps, latency, latency_workers, lost, load_before, seconds, drivers)
    return {**figures, "pg_history_bytes_per_row": round(bytes_per_row)}


def _cpu_text(cpu: dict[str, float]) -> str:
    return ", ".join(f"{name} {share:.0%}" for name, share in cpu.items())


def report(
    steps: list[Step],
    latency: Latency,
    latency_workers: int,
    lost: dict[str, int],
    load_before: tuple[float, float, float],
    seconds: float,
    drivers: int,
) -> dict[str, Any]:
    table = Table(title=f"ingest, closed loop, {drivers} drivers, {seconds:g} s per step")
    for column in (
        "database",
        "workers",
        "fixes/s",
        "workers CPU",
        "PostgreSQL CPU",
        "Redis CPU",
        "generators CPU",
        "machine CPU",
        "generator lag p99",
    ):
        table.add_column(column, justify="right")  # fmt: skip
    for step in steps:
        cpu = step.cpu
        table.add_row(
            "SQLite" if step.database == "sqlite" else "PostgreSQL + Redis",
            str(step.workers),
            f"{step.fixes_per_s:,.0f}",
            f"{cpu.get('workers', 0):.0%}",
            f"{cpu['postgres']:.0%}" if "postgres" in cpu else "-",
            f"{cpu['redis']:.0%}" if "redis" in cpu else "-",
            f"{cpu.get('generators', 0):.0%}",
            f"{cpu.get('machine', 0):.0%} of 200%"
            if os.cpu_count() == 2
            else f"{cpu.get('machine', 0):.0%}",
            f"{step.generator_lag_p99_ms:.0f} ms",
        )
    console.print(table)
    c, d = latency.customer_ms, latency.dispatcher_ms
    console.print(
        f"{latency.offered:,.0f} fixes/s offered to {latency_workers} workers, customers on the "
        f"other worker: {latency.accepted:,.0f} accepted/s; fix→customer p50 {pct(c, 0.5):.1f} "
        f"p95 {pct(c, 0.95):.1f} p99 {pct(c, 0.99):.1f} ms ({len(c)} frames); fix→dispatcher "
        f"p99 {pct(d, 0.99):.1f} ms; generator loop lag p99 {latency.generator_lag_p99_ms:.0f} ms"
    )
    console.print(
        f"kill: a worker SIGKILLed mid-phase ({'done' if latency.killed else 'NOT done'}), "
        f"{latency.kill_errors} batches unacknowledged; acknowledged fixes missing from the "
        f"history: {lost}"
    )
    pg = {str(s.workers): round(s.fixes_per_s) for s in steps if s.database == "postgresql"}
    sqlite = [s for s in steps if s.database == "sqlite"]

    def rounded(value: float) -> float | None:
        return None if value != value else round(value, 1)  # NaN: no frame arrived

    return {
        "fixes_per_s_by_workers": pg,
        "p99_customer_ms": rounded(pct(c, 0.99)),
        "lost_acked_fixes": sum(lost.values()),
        "sqlite_fixes_per_s": round(sqlite[0].fixes_per_s) if sqlite else None,
        "p50_customer_ms": rounded(pct(c, 0.5)),
        "p95_customer_ms": rounded(pct(c, 0.95)),
        "customer_frames": len(c),
        "p99_dispatcher_ms": rounded(pct(d, 0.99)),
        "offered_fixes_per_s": latency.offered,
        "accepted_at_offered_fixes_per_s": round(latency.accepted),
        "latency_workers": latency_workers,
        "lost_acked_fixes_by_database": lost,
        "worker_killed": latency.killed,
        "unacknowledged_batches_at_kill": latency.kill_errors,
        "errors_by_step": {f"{s.database}-{s.workers}": s.errors for s in steps},
        "cpu_by_step": {
            f"{s.database}-{s.workers}": {k: round(v, 2) for k, v in s.cpu.items()} for s in steps
        },
        "drivers": drivers,
        "seconds_per_step": seconds,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a short smoke run: two workers, no SQLite"
    )
    parser.add_argument("--seconds", type=float, help="seconds per phase (2 quick, else 15)")
    parser.add_argument("--workers", help="worker counts on PostgreSQL (2 quick, else 1,2,4)")
    parser.add_argument("--rate", type=float, help="fixes/s of the latency and kill phases (5000)")
    parser.add_argument("--drivers", type=int, help="simulated drivers (100 quick, else 600)")
    parser.add_argument("--generators", type=int, default=2, help="load-generator processes")
    parser.add_argument(
        "--dispatchers",
        choices=("every", "one"),
        default="every",
        help="a dispatcher socket on every worker (default) or on the first only",
    )
    parser.add_argument(
        "--sqlite",
        action=argparse.BooleanOptionalAction,
        help="also one SQLite process for comparison (default: yes, but not with --quick)",
    )
    args = parser.parse_args()
    for tool, what in ((Path("/usr/bin/redis-server"), "redis-server"),):
        if not tool.exists():
            raise SystemExit(f"{what} not found at {tool}; scripts/system-deps installs it")
    workers = [int(n) for n in (args.workers or ("2" if args.quick else "1,2,4")).split(",")]
    result = asyncio.run(
        run(
            workers,
            args.seconds or (2.0 if args.quick else 15.0),
            args.rate or 5000.0,
            args.drivers or (100 if args.quick else 600),
            args.generators,
            not args.quick if args.sqlite is None else args.sqlite,
            args.dispatchers,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
