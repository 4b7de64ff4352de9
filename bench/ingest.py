"""Location ingest and fan-out against a real server process, over real sockets.

    .venv/bin/python bench/ingest.py [--quick]

Seeds a temporary SQLite database (an organisation, a dispatcher, N drivers, two orders per
driver on today's route, tracking links per order), starts ``python -m backend serve`` on a
free loopback port, then: opens one customer WebSocket per visible order; runs 5,000 fixes/s
and measures fix→dispatcher and fix→customer latency; ramps the offered rate until the
accepted rate stops following or latency explodes; then opens every customer socket (16,000
in the full run) and measures fix→customer latency with them held at 2,000 fixes/s. Each fix's
``recorded_at`` is its send time, so latency = receive time - ``recorded_at``. Drivers move
north at 40 m/s so the customers' ~100 m approximate position changes every few seconds.
Prints figures, then one JSON line.
"""

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.auth.tokens import issue
from backend.db import create_engine, session_scope
from backend.heap import settle_heap
from backend.models import Driver, Order, Organization, Route, Stop, TrackingLink, User
from bench._backend import migrated, serve
from bench._backend import stop as stop_server
from shared.enums import OrderStatus, Role, StopKind

SECRET = "bench-secret-key-that-is-long-enough-0123456789"
SPEED_DEG_PER_S = 40 / 111_320  # 40 m/s northwards
BATCH = 10
TARGET_P99_MS = 250  # fixes_per_s: the last rate of the unbroken run of phases with p99 under this


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def seed(
    url: str, drivers: int, links_per_order: int, *, stops_today: bool = True
) -> tuple[str, list[str], list[str]]:
    """Dispatcher token, driver tokens, customer tracking tokens: two orders per driver (its
    current and next stop, so both customers see it move), each with ``links_per_order``
    tracking links (a recipient shares the link with family or a concierge).
    ``stops_today=False``: the orders are assigned but on no route (no stops, no ETAs)."""
    engine = create_engine(url)
    now = datetime.now(UTC)
    async with session_scope(engine) as session:
        org = Organization(slug="bench", name="Bench")
        session.add(org)
        await session.flush()
        assert org.id is not None
        dispatcher = User(
            org_id=org.id, email="d@bench.test", role=Role.DISPATCHER, password_hash="x"
        )
        session.add(dispatcher)
        users = [
            User(org_id=org.id, email=f"u{i}@bench.test", role=Role.DRIVER, password_hash="x")
            for i in range(drivers)
        ]
        session.add_all(users)
        await session.flush()
        rows = [
            Driver(org_id=org.id, user_id=u.id, name=f"Driver {i}") for i, u in enumerate(users)
        ]
        session.add_all(rows)
        await session.flush()
        routes = [Route(org_id=org.id, driver_id=d.id or 0, service_date=now.date()) for d in rows]
        session.add_all(routes)
        orders = [
            Order(org_id=org.id, recipient_name="R", status=OrderStatus.ASSIGNED, driver_id=d.id)
            for d in rows
            for _ in range(2)
        ]
        session.add_all(orders)
        await session.flush()
        stops = [
            Stop(
                org_id=org.id,
                order_id=o.id or 0,
                kind=StopKind.DROPOFF,
                address="a",
                lat=43.73,
                lng=7.42,
                route_id=routes[i // 2].id,
                sequence=i % 2,
            )
            for i, o in enumerate(orders)
        ]
        links = [
            TrackingLink(
                org_id=org.id,
                order_id=o.id or 0,
                token=f"bench-{o.id}-{k}",
                expires_at=now + timedelta(hours=3),
            )
            for k in range(links_per_order)
            for o in orders
        ]
        session.add_all([*(stops if stops_today else []), *links])
        assert dispatcher.id is not None
    await engine.dispose()
    token = issue(SECRET, dispatcher.id, "access", 86_400, 0)
    driver_tokens = [issue(SECRET, u.id or 0, "access", 86_400, 0) for u in users]
    return token, driver_tokens, [link.token for link in links]


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The server's child processes (its history writer, once a fix was stored)."""
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def children_cpu_s(pid: int) -> float:
    return sum(cpu_s(child) for child in children(pid))


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one HTTP/1.1 response with a Content-Length (what uvicorn sends)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = next(
        int(line.split(b":", 1)[1])
        for line in lines[1:]
        if line.lower().startswith(b"content-length:")
    )
    return status, await reader.readexactly(length)


def travelled_deg(elapsed_s: float, shuttle_deg: float | None) -> float:
    """How far north of its start a driver is after ``elapsed_s`` at 40 m/s: without end,
    or back and forth between 0 and ``shuttle_deg``."""
    gone = elapsed_s * SPEED_DEG_PER_S
    if shuttle_deg is None:
        return gone
    return shuttle_deg - abs(gone % (2 * shuttle_deg) - shuttle_deg)


class Load:
    """N drivers sending batches of fixes (HTTP or the driver WebSocket); the dispatcher and
    customer sockets record latencies into lists."""

    def __init__(
        self, base: str, tokens: list[str], transport: str, shuttle_deg: float | None = None
    ) -> None:
        """``shuttle_deg``: each driver drives back and forth over this much latitude (a
        steady state, as in a city) rather than north without end (the default)."""
        self.base, self.tokens, self.transport = base, tokens, transport
        self.shuttle_deg = shuttle_deg
        self.sockets: dict[int, Any] = {}  # driver index -> its driver WebSocket (ws transport)
        self.open_sockets = 0  # watched sockets that got their first real frame
        self.closed_sockets = 0  # watched sockets that ended (refused, failed or closed)
        self.t0 = time.time()
        self.accepted = self.errors = 0
        self.dispatcher_ms: list[float] = []
        self.customer_ms: list[float] = []
        self.lag_ms: list[float] = []  # the load generator's own event-loop delays

    async def watch_lag(self) -> None:
        """How late this process's event loop wakes a 10 ms sleep: latency that its own
        load adds to every figure it measures (the server never caused it)."""
        while True:
            t = time.monotonic()
            await asyncio.sleep(0.01)
            self.lag_ms.append((time.monotonic() - t - 0.01) * 1000)

    async def drive(self, rate: float, seconds: float) -> float:
        """Offer ``rate`` fixes/s for ``seconds``; return the fixes/s accepted once every
        driver is sending (the drivers start staggered over one period) until the end."""
        period = BATCH * len(self.tokens) / rate
        started = time.monotonic()
        until = started + seconds
        counted: list[tuple[float, int]] = []

        async def count() -> None:
            for at in (started + min(period, seconds / 2), until):
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                counted.append((time.monotonic(), self.accepted))

        await asyncio.gather(
            count(), *(self._driver(i, period, until) for i in range(len(self.tokens)))
        )
        (t0, n0), (t1, n1) = counted
        return (n1 - n0) / (t1 - t0)

    def _batch(self, i: int) -> list[dict[str, Any]]:
        now = time.time()
        return [
            {
                "lat": 43.70 + (i % 100) * 0.001 + travelled_deg(t - self.t0, self.shuttle_deg),
                "lng": 7.40 + (i // 100) * 0.001,
                "recorded_at": datetime.fromtimestamp(t, UTC).isoformat(),
                "accuracy_m": 5,
            }
            for t in (now - (BATCH - 1 - k) * 0.001 for k in range(BATCH))
        ]

    async def _driver(self, i: int, period: float, until: float) -> None:
        if self.transport == "ws":
            await self._driver_ws(i, period, until)
        else:
            await self._driver_http(i, period, until)

    async def _paced(self, i: int, period: float, until: float, send: Any) -> None:
        """Call ``send()`` every ``period`` seconds (staggered by driver) until ``until``;
        at least once, so every driver is known to the server after any phase."""
        await asyncio.sleep(period * i / len(self.tokens))
        next_at = time.monotonic()
        while True:
            if not await send():
                return
            next_at += period
            # Past the end by the clock too: a driver that fell behind its pace (the server
            # saturated) must not keep sending into the next phase.
            if next_at >= until or time.monotonic() >= until:
                return
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def _driver_http(self, i: int, period: float, until: float) -> None:
        # Raw HTTP/1.1 keep-alive on asyncio streams: httpx costs the (same-machine) load
        # generator several times the server's own work per request, which capped the figures.
        host, port = self.base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        head = (
            f"POST /api/v1/drivers/me/locations HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {self.tokens[i]}\r\nContent-Type: application/json\r\n"
        ).encode()

        async def send() -> bool:
            body = orjson.dumps({"fixes": self._batch(i)})
            try:
                writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
                status, answer = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                self.errors += 1
                return False
            if status == 200:
                self.accepted += orjson.loads(answer)["accepted"]
            else:
                self.errors += 1
            return True

        try:
            await self._paced(i, period, until, send)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _driver_ws(self, i: int, period: float, until: float) -> None:
        """The driver app's live path: ``/api/v1/drivers/me/ws``, one ack per batch."""
        ws = self.sockets.get(i)
        if ws is None:
            url = self.base.replace("http://", "ws://") + "/api/v1/drivers/me/ws"
            headers = {"Authorization": f"Bearer {self.tokens[i]}"}
            ws = await websockets.connect(url, additional_headers=headers, compression=None)
            assert orjson.loads(await ws.recv())["type"] == "ready"
            self.sockets[i] = ws
        batch_id = 0

        async def send() -> bool:
            nonlocal batch_id
            batch_id += 1
            try:
                await ws.send(
                    orjson.dumps(
                        {"type": "fixes", "id": batch_id, "fixes": self._batch(i)}
                    ).decode()
                )
                answer = orjson.loads(await ws.recv())
            except websockets.ConnectionClosed:
                self.errors += 1
                return False
            if answer.get("type") == "ack":
                self.accepted += answer["accepted"]
            else:
                self.errors += 1
            return True

        await self._paced(i, period, until, send)

    async def watch(
        self, url: str, sink: list[float], ready: asyncio.Event | None = None, on: str = "hello"
    ) -> None:
        """Hold one socket; ``ready`` is set when the frame of type ``on`` arrives (a
        customer's ``snapshot``: the server did its database work and subscribed), not at
        the handshake."""
        try:
            async with websockets.connect(url, open_timeout=120, max_size=None) as ws:
                async for raw in ws:
                    received = time.time()
                    frame = orjson.loads(raw)
                    if ready is not None and not ready.is_set() and frame["type"] == on:
                        ready.set()
                        self.open_sockets += 1
                    self._frame(frame, received, sink)
        except (OSError, websockets.WebSocketException, TimeoutError):
            pass
        finally:
            self.closed_sockets += 1
            if ready is not None:
                ready.set()

    @staticmethod
    def _frame(frame: dict[str, Any], received: float, sink: list[float]) -> None:
        if frame["type"] == "positions":
            items = [p["recorded_at"] for p in frame["positions"]]
        elif frame["type"] == "driver_position" and frame["position"]:
            items = [frame["position"]["recorded_at"]]
        else:
            return
        for at in items:
            sink.append((received - datetime.fromisoformat(at).timestamp()) * 1000)


async def open_customers(ws_base: str, tokens: list[str], load: Load) -> list[asyncio.Task[None]]:
    tasks = []
    for start in range(0, len(tokens), 200):
        events = []
        for token in tokens[start : start + 200]:
            ready = asyncio.Event()
            events.append(ready)
            url = f"{ws_base}/api/v1/track/{token}/ws"
            tasks.append(
                asyncio.create_task(load.watch(url, load.customer_ms, ready, on="snapshot"))
            )
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 120)
    return tasks


async def run(
    quick: bool,
    phase_s: float | None,
    transport: str,
    drivers: int | None = None,
    customers: int | None = None,
    hold: int | None = None,
    hold_rounds: int = 6,
) -> dict[str, Any]:
    drivers = drivers or (200 if quick else 1000)
    customers = max(customers or (800 if quick else 16_000), 2 * drivers)
    phase_s = phase_s or (4.0 if quick else 20.0)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the server inherits it
    data = await migrated("lastmile-bench-", SECRET)
    links_per_order = -(-customers // (2 * drivers))
    dispatcher, driver_tokens, customer_tokens = await seed(
        data.database_url, drivers, links_per_order
    )
    log = Path(tempfile.gettempdir()) / "lastmile-bench-ingest-server.log"  # kept for reading
    server, base = await serve(data, log)
    ws_base = base.replace("http://", "ws://", 1)
    tasks: list[asyncio.Task[None]] = []
    load: Load | None = None
    try:
        load = Load(base, driver_tokens, transport)
        # The generator is Python too: its own full garbage collections (100+ ms with
        # hundreds of sockets) would show up as latency that the server never caused.
        settle_heap()
        ready = asyncio.Event()
        tasks.append(
            asyncio.create_task(
                load.watch(
                    f"{ws_base}/api/v1/fleet/ws?token={dispatcher}", load.dispatcher_ms, ready
                )
            )
        )
        await ready.wait()
        await load.drive(1000, 3)  # warm-up: every driver sends, so the server knows them
        await asyncio.sleep(1.5)  # and has loaded which customers may see whom

        # One customer per visible order watches during the rate phases; the socket-count
        # target is measured afterwards, with every customer socket open.
        watchers = 2 * drivers
        t = time.monotonic()
        customer_tasks = await open_customers(ws_base, customer_tokens[:watchers], load)
        tasks += customer_tasks
        print(
            f"opened {load.open_sockets - 1:,} of {watchers:,} customer sockets (one per "
            f"visible order) in {time.monotonic() - t:.1f} s ({load.closed_sockets} failed)"
        )
        await asyncio.sleep(1.0)  # the connect burst's database work settles
        # The generator's own 2,000 sockets are alive to the end: out of its collector's
        # sight, so its passes do not add their pauses to what it measures.
        gc.freeze()
        tasks.append(asyncio.create_task(load.watch_lag()))

        load.customer_ms.clear()
        load.dispatcher_ms.clear()
        load.lag_ms.clear()
        rate5k = await load.drive(5000, phase_s)
        p99_customer = pct(load.customer_ms, 0.99)
        print(
            f"5,000 fixes/s offered: {rate5k:,.0f} accepted/s; fix→customer p50 "
            f"{pct(load.customer_ms, 0.5):.0f} ms p99 {p99_customer:.0f} ms; fix→dispatcher "
            f"p99 {pct(load.dispatcher_ms, 0.99):.0f} ms; load generator's loop lag p99 "
            f"{pct(load.lag_ms, 0.99):.0f} ms max {max(load.lag_ms, default=0):.0f} ms"
        )

        best = {
            "rate": rate5k,
            "p99": pct(load.dispatcher_ms, 0.99),
            "p50": pct(load.dispatcher_ms, 0.5),
        }

        async def phase(offered: int) -> tuple[float, float, bool]:
            """Offer ``offered`` fixes/s for one phase; (accepted/s, p99 ms, passed)."""
            assert load is not None
            load.dispatcher_ms.clear()
            load.lag_ms.clear()
            errors = load.errors
            cpu_before, own_before, t = cpu_s(server.pid), time.process_time(), time.monotonic()
            writer_before = children_cpu_s(server.pid)
            got = await load.drive(offered, phase_s)
            elapsed = time.monotonic() - t
            busy = (cpu_s(server.pid) - cpu_before) / elapsed
            writer = (children_cpu_s(server.pid) - writer_before) / elapsed
            own = (time.process_time() - own_before) / elapsed
            p99 = pct(load.dispatcher_ms, 0.99)
            print(
                f"{offered:,} offered: {got:,.0f} accepted/s, fix→dispatcher p50 "
                f"{pct(load.dispatcher_ms, 0.5):.0f} ms p99 {p99:.0f} ms, "
                f"errors {load.errors - errors}, server CPU {busy:.0%} + history writer "
                f"{writer:.0%} ({(busy + writer) / max(got, 1) * 1e6:.0f} µs per fix), "
                f"load generator CPU {own:.0%}, "
                f"its loop lag p99 {pct(load.lag_ms, 0.99):.0f} ms"
            )
            passed = p99 < TARGET_P99_MS and load.errors == errors and got >= 0.95 * offered
            return got, p99, passed

        if hold:
            rounds = [await phase(hold) for _ in range(hold_rounds)]
            p99s = [round(p99, 1) for _, p99, _ in rounds]
            return {
                "held_offered": hold,
                "held_fixes_per_s": round(sum(got for got, _, _ in rounds) / len(rounds)),
                "phases": len(rounds),
                "phases_passed": sum(1 for *_, ok in rounds if ok),
                "p99_dispatcher_ms_each": p99s,
                "p99_dispatcher_ms_max": max(p99s),
                "p99_customer_ms": round(p99_customer, 1),
                "drivers": drivers,
                "phase_s": phase_s,
                "transport": transport,
            }

        knee_open = True
        for offered in (7_500, 10_000, 12_500, 15_000, 17_500, 20_000, 22_500, 25_000, 30_000):
            got, p99, passed = await phase(offered)
            # The sustained maximum: the last rate of the unbroken run of passing phases (a
            # higher phase that passes again after one that failed does not count).
            if passed and knee_open and got > best["rate"]:
                best = {"rate": got, "p99": p99, "p50": pct(load.dispatcher_ms, 0.5)}
            knee_open = knee_open and passed
            if got < 0.9 * offered or p99 >= 1000:
                break

        held = customer_tokens[:customers]
        t = time.monotonic()
        more = await open_customers(ws_base, held[watchers:], load)
        tasks += more
        customer_tasks += more
        print(
            f"opened {load.open_sockets - 1:,} of {len(held):,} customer sockets in all "
            f"({time.monotonic() - t:.1f} s for the rest; {load.closed_sockets} closed or failed)"
        )
        await asyncio.sleep(1.0)
        load.customer_ms.clear()
        await load.drive(2000, phase_s)
        p99_sockets = pct(load.customer_ms, 0.99)
        print(
            f"  with them held at 2,000 fixes/s: p50 {pct(load.customer_ms, 0.5):.0f} ms, "
            f"p99 {p99_sockets:.0f} ms fix→customer ({len(load.customer_ms)} samples)"
        )
        rss = vm_hwm_mb(server.pid) + sum(vm_hwm_mb(child) for child in children(server.pid))
        return {
            "fixes_per_s": round(best["rate"]),
            "p50_dispatcher_ms": round(best["p50"], 1),
            "p99_dispatcher_ms": round(best["p99"], 1),
            "p99_customer_ms": round(p99_customer, 1),
            "customer_sockets": sum(1 for task in customer_tasks if not task.done()),
            "p99_customer_sockets_ms": round(p99_sockets, 1),
            "peak_rss_mb": round(rss, 1),
            "drivers": drivers,
            "ramp_customer_sockets": watchers,
            "batch": BATCH,
            "transport": transport,
            "quick": quick,
        }
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if load is not None:
            await asyncio.gather(
                *(ws.close() for ws in load.sockets.values()), return_exceptions=True
            )
        await stop_server(server)
        await asyncio.to_thread(shutil.rmtree, data.path, True)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller run, under a minute")
    parser.add_argument("--phase-s", type=float, help="seconds per load phase (4 quick, else 20)")
    parser.add_argument(
        "--transport",
        choices=("http", "ws"),
        default="ws",
        help="how drivers send: the driver app's WebSocket (default) or HTTP batch POSTs",
    )
    parser.add_argument("--drivers", type=int, help="simulated drivers (200 quick, else 1000)")
    parser.add_argument(
        "--customers",
        type=int,
        help="customer sockets held at the end (800 quick, else 16,000; at least 2 per driver)",
    )
    parser.add_argument(
        "--hold",
        type=int,
        help="instead of the ramp, hold this many fixes/s for --rounds phases (no socket "
        "target): how steady a rate is, phase after phase",
    )
    parser.add_argument("--rounds", type=int, default=6, help="phases of --hold (6)")
    args = parser.parse_args()
    result = asyncio.run(
        run(
            args.quick,
            args.phase_s,
            args.transport,
            args.drivers,
            args.customers,
            args.hold,
            args.rounds,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
