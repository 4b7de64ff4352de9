"""MQTT ingest: fixes/s through a real Mosquitto into the pipeline, and fix-to-dispatcher p99.

    .venv/bin/python bench/mqtt.py [--quick]

Starts Debian's ``mosquitto`` on a free loopback port (``tests/mosquitto_server.py``, with an
ACL that lets one bench user publish every device's topic), seeds a temporary SQLite
database (an organisation, a dispatcher, N drivers each with a registered device), starts
``python -m backend serve`` with ``LASTMILE_MQTT_URL`` pointing at the broker, opens one
dispatcher socket (``/api/v1/fleet/ws``), then publishes our app's topic
(``lastmile/bench/drivers/{device}/locations``, QoS 1, batches of 10 fixes) from 4 MQTT
connections at rising offered rates. A batch's newest fix is stamped with its send time, so
latency = the dispatcher frame's arrival - ``recorded_at``. Accepted fixes/s come from the
server's ``/metrics``. The ramp stops when fewer than 90 % of the offered fixes are accepted
or p99 passes 1 s. ``fixes_per_s`` is the highest phase kept (>= 90 % accepted, p99 < 250
ms). Prints a line per phase, then one JSON line.
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import orjson
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.auth.tokens import issue
from backend.db import create_engine, session_scope
from backend.models import Driver, Organization, User
from backend.models.device import Device
from bench._backend import migrated, serve
from bench._backend import stop as stop_server
from bench.ingest import pct
from shared.enums import Role
from tests.mosquitto_server import MOSQUITTO, run_mosquitto

SECRET = "bench-secret-key-that-is-long-enough-0123456789"
BATCH = 10
PUBLISHERS = 4
TARGET_P99_MS = 250
SPEED_DEG_PER_S = 20 / 111_320  # 20 m/s northwards
ACL = """\
user lastmile
topic read lastmile/+/drivers/+/locations
topic read $share/lastmile/lastmile/+/drivers/+/locations
user bench
topic write lastmile/#
"""


async def seed(url: str, devices: int) -> tuple[str, list[str]]:
    """The dispatcher's access token and the devices' identifiers."""
    engine = create_engine(url)
    async with session_scope(engine) as session:
        org = Organization(slug="bench", name="Bench")
        session.add(org)
        await session.flush()
        assert org.id is not None
        dispatcher = User(
            org_id=org.id, email="d@bench.test", role=Role.DISPATCHER, password_hash="x"
        )
        users = [
            User(org_id=org.id, email=f"u{i}@bench.test", role=Role.DRIVER, password_hash="x")
            for i in range(devices)
        ]
        session.add_all([dispatcher, *users])
        await session.flush()
        drivers = [
            Driver(org_id=org.id, user_id=u.id, name=f"Driver {i}") for i, u in enumerate(users)
        ]
        session.add_all(drivers)
        await session.flush()
        identifiers = [f"bench-{i}" for i in range(devices)]
        session.add_all(
            Device(org_id=org.id, driver_id=d.id or 0, identifier=name)
            for d, name in zip(drivers, identifiers, strict=True)
        )
        assert dispatcher.id is not None
        token = issue(SECRET, dispatcher.id, "access", 86_400, 0)
    await engine.dispose()
    return token, identifiers


async def counter(http: httpx.AsyncClient, name: str) -> float:
    text = (await http.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def until_subscribed(http: httpx.AsyncClient) -> None:
    for _ in range(300):
        if await counter(http, 'lastmile_pipeline_events_total{name="mqtt_connections"}') >= 1:
            return
        await asyncio.sleep(0.1)
    raise SystemExit("the backend did not subscribe to the broker")


async def dispatcher(url: str, sink: list[float], ready: asyncio.Event) -> None:
    async with websockets.connect(url, open_timeout=30, max_size=None) as ws:
        async for raw in ws:
            received = time.time()
            frame = orjson.loads(raw)
            ready.set()
            if frame["type"] == "positions":
                for p in frame["positions"]:
                    at = datetime.fromisoformat(p["recorded_at"]).timestamp()
                    sink.append((received - at) * 1000)


async def publish_phase(
    clients: list[aiomqtt.Client], devices: list[str], rate: float, seconds: float, start: float
) -> int:
    """Publish ``rate`` fixes/s for ``seconds``; the number of fixes published."""
    messages_per_s = rate / BATCH
    fix_step = len(devices) / rate  # seconds between one device's fixes
    tick = 0.05
    sent = 0
    order = itertools.cycle(range(len(devices)))
    owed = 0.0
    began = time.monotonic()
    pending: set[asyncio.Task[None]] = set()
    while (elapsed := time.monotonic() - began) < seconds:
        owed += messages_per_s * tick
        now = time.time()
        for _ in range(int(owed)):
            owed -= 1
            i = next(order)
            fixes = []
            for k in range(BATCH):
                t = now - (BATCH - 1 - k) * fix_step
                fixes.append(
                    {
                        "lat": 43.70 + (t - start) * SPEED_DEG_PER_S + i * 1e-3,
                        "lng": 7.42,
                        "recorded_at": datetime.fromtimestamp(t, UTC).isoformat(),
                        "accuracy_m": 5,
                    }
                )
            topic = f"lastmile/bench/drivers/{devices[i]}/locations"
            client = clients[sent % len(clients)]
            task = asyncio.create_task(client.publish(topic, orjson.dumps(fixes), qos=1))
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
        await asyncio.sleep(max(0.0, tick - (time.monotonic() - began - elapsed)))
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    return sent * BATCH


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="~30 s: 2,000 and 5,000 fixes/s")
    parser.add_argument("--devices", type=int, default=None)
    parser.add_argument("--phase-s", type=float, default=None)
    parser.add_argument("--rates", default=None, help="offered fixes/s, comma-separated")
    args = parser.parse_args()
    devices_n = args.devices or (50 if args.quick else 200)
    phase_s = args.phase_s or (4.0 if args.quick else 15.0)
    rates = (
        [float(r) for r in args.rates.split(",")]
        if args.rates
        else ([2000.0, 5000.0] if args.quick else [2e3, 5e3, 10e3, 15e3, 20e3, 25e3])
    )
    if not await asyncio.to_thread(Path(MOSQUITTO).exists):
        raise SystemExit(f"{MOSQUITTO} not found: install Debian's mosquitto (scripts/system-deps)")
    with tempfile.TemporaryDirectory(prefix="lastmile-bench-mqtt-") as tmp:
        acl = Path(tmp) / "acl"
        acl.write_text(ACL)
        with run_mosquitto(acl) as broker:
            broker.add_user("bench")
            data = await migrated(
                "lastmile-bench-mqtt-",
                SECRET,
                LASTMILE_MQTT_URL=broker.url(),
                LASTMILE_MQTT_CLIENT_ID="bench",
            )
            token, devices = await seed(data.database_url, devices_n)
            server, base = await serve(data, Path(tmp) / "server.log")
            try:
                result = await run(broker.port, base, token, devices, rates, phase_s)
            finally:
                await stop_server(server)
    print(json.dumps(result))


async def run(
    port: int, base: str, token: str, devices: list[str], rates: list[float], phase_s: float
) -> dict[str, Any]:
    latencies: list[float] = []
    ready = asyncio.Event()
    phases: list[dict[str, float]] = []
    async with httpx.AsyncClient(base_url=base) as http, contextlib.AsyncExitStack() as stack:
        await until_subscribed(http)
        ws_url = base.replace("http://", "ws://") + f"/api/v1/fleet/ws?token={token}"
        listener = asyncio.create_task(dispatcher(ws_url, latencies, ready))
        await asyncio.wait_for(ready.wait(), 30)
        clients = [
            await stack.enter_async_context(
                aiomqtt.Client(
                    "127.0.0.1",
                    port,
                    username="bench",
                    password="bench-secret",
                    identifier=f"bench-publisher-{n}",
                    max_inflight_messages=1000,
                )
            )
            for n in range(PUBLISHERS)
        ]
        for client in clients:
            client.pending_calls_threshold = 1_000_000  # many publishes in flight is the point
        start = time.time()
        accepted_name = 'lastmile_fixes_total{outcome="accepted"}'
        for rate in rates:
            latencies.clear()
            before = await counter(http, accepted_name)
            began = time.monotonic()
            published = await publish_phase(clients, devices, rate, phase_s, start)
            window = time.monotonic() - began
            accepted = await counter(http, accepted_name) - before
            p99 = pct(latencies, 0.99)
            phase = {
                "offered_fixes_per_s": rate,
                "published": published,
                "accepted_fixes_per_s": round(accepted / window),
                "p50_dispatcher_ms": round(pct(latencies, 0.5), 1),
                "p99_dispatcher_ms": round(p99, 1),
            }
            phases.append(phase)
            print(
                f"offered {rate:>7,.0f} fixes/s: accepted {phase['accepted_fixes_per_s']:>7,.0f}"
                f"/s, dispatcher p50 {phase['p50_dispatcher_ms']} ms, p99 {p99:.1f} ms",
                flush=True,
            )
            # Let a backlog drain before the next phase.
            for _ in range(100):
                if await counter(http, accepted_name) - before >= published:
                    break
                await asyncio.sleep(0.1)
            if accepted / window < 0.9 * rate or p99 > 1000:
                break
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener
    kept = [
        p
        for p in phases
        if p["accepted_fixes_per_s"] >= 0.9 * p["offered_fixes_per_s"]
        and p["p99_dispatcher_ms"] < TARGET_P99_MS
    ]
    best = kept[-1] if kept else phases[0]
    return {
        "fixes_per_s": best["accepted_fixes_per_s"] if kept else 0,
        "p99_dispatcher_ms": best["p99_dispatcher_ms"],
        "devices": len(devices),
        "batch": BATCH,
        "phases": phases,
    }


if __name__ == "__main__":
    asyncio.run(main())
