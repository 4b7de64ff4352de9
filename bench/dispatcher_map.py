"""The dispatcher's live map with 500 drivers moving: updates on the page, frame times,
and the time from a click on a driver to their card.

Run from the repository root::

    .venv/bin/python bench/dispatcher_map.py [--drivers 500] [--seconds 20]

A real backend (``python -m backend serve``, its own process and SQLite file) with one
organisation: a dispatcher and ``--drivers`` drivers, each with today's route of two
stops. Every driver holds the driver socket (``/api/v1/drivers/me/ws``) and sends one fix
a second, driving a circle around Monaco. The dispatcher app runs as it is deployed
(``python -m dispatcher_app``, Flet web) and headless Chromium opens it on the map.

Measured in the page over ``--seconds``: the map's own counter (``map-updated``: ticks
that moved a driver) per second, the frame intervals from ``requestAnimationFrame``
(p50/p95/p99/max, ms), and five clicks on a driver marker until its card is on screen
(ms). Figures for people first; the last line of standard output is one JSON object.
"""

import argparse
import asyncio
import contextlib
import json
import math
import re
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import websockets
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, expect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.auth.service import create_user
from backend.auth.tokens import issue
from backend.db import create_engine, session_scope
from backend.models import Driver, Order, Organization, Route, Stop, User
from bench._backend import migrated, serve
from bench._backend import stop as stop_server
from shared.enums import OrderStatus, Role, StopKind
from tests.browser import CHROMIUM, open_in_chromium, serve_app

SECRET = "bench-secret-key-that-is-long-enough-0123456789"
PASSWORD = "correct-horse-battery"
EMAIL = "dispatch@bench.test"
CENTRE = (43.735, 7.42)

RAF_START = """() => {
  window.__frames = [];
  let last = performance.now();
  const tick = (t) => { window.__frames.push(t - last); last = t; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
}"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def seed(url: str, drivers: int) -> list[str]:
    """The organisation; returns a token per driver."""
    engine = create_engine(url)
    today = datetime.now(UTC).date()
    async with session_scope(engine) as session:
        org = Organization(slug="bench", name="Bench")
        session.add(org)
        await session.flush()
        assert org.id is not None
        await create_user(session, org.id, EMAIL, PASSWORD, Role.DISPATCHER, "Dee Dispatch")
        users = [
            User(org_id=org.id, email=f"u{i}@bench.test", role=Role.DRIVER, password_hash="x")
            for i in range(drivers)
        ]
        session.add_all(users)
        await session.flush()
        rows = [
            Driver(org_id=org.id, user_id=u.id, name=f"Driver {i}", phone=f"+377 6{i:05d}")
            for i, u in enumerate(users)
        ]
        session.add_all(rows)
        await session.flush()
        routes = [Route(org_id=org.id, driver_id=d.id or 0, service_date=today) for d in rows]
        orders = [
            Order(org_id=org.id, recipient_name="R", status=OrderStatus.ASSIGNED, driver_id=d.id)
            for d in rows
            for _ in range(2)
        ]
        session.add_all([*routes, *orders])
        await session.flush()
        session.add_all(
            Stop(
                org_id=org.id,
                order_id=o.id or 0,
                kind=StopKind.DROPOFF,
                address=f"{i} Bench Street",
                lat=CENTRE[0] + 0.01 * math.sin(i),
                lng=CENTRE[1] + 0.01 * math.cos(i),
                route_id=routes[i // 2].id,
                sequence=i % 2,
            )
            for i, o in enumerate(orders)
        )
    await engine.dispose()
    return [issue(SECRET, u.id or 0, "access", 86_400, 0) for u in users]


async def drive(base_ws: str, token: str, i: int, n: int, stop: asyncio.Event) -> int:
    """One driver: a fix a second on a circle of its own; returns fixes accepted."""
    url = f"{base_ws}/api/v1/drivers/me/ws"
    headers = {"Authorization": f"Bearer {token}"}
    accepted = 0
    await asyncio.sleep(i / n)  # spread over the second
    async with websockets.connect(url, additional_headers=headers, compression=None) as ws:
        assert orjson.loads(await ws.recv())["type"] == "ready"
        radius = 0.002 + 0.008 * (i % 50) / 50  # inside the stops, all on screen
        phase = 2 * math.pi * i / n
        step = 0
        while not stop.is_set():
            angle = phase + step * 0.02
            fix = {
                "lat": CENTRE[0] + radius * math.sin(angle),
                "lng": CENTRE[1] + radius * math.cos(angle),
                "recorded_at": datetime.now(UTC).isoformat(),
                "heading_deg": (math.degrees(-angle)) % 360,
                "speed_mps": 9.0,
            }
            await ws.send(orjson.dumps({"type": "fixes", "id": step, "fixes": [fix]}).decode())
            answer = orjson.loads(await ws.recv())
            accepted += int(answer.get("accepted", 0))
            step += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    return accepted


def updates_of(text: str) -> int:
    found = re.search(r"(\d+) updates", text)
    return int(found.group(1)) if found else 0


async def click_a_marker(markers: Locator, start: int) -> float:
    """Click the ``start``-th driver marker, or the next one that is still on screen (the
    drivers move: one counted a moment ago may have left the view). When the click landed
    (``perf_counter``)."""
    count = await markers.count()
    for j in range(count):
        clicked = time.perf_counter()
        try:
            await markers.nth((start + j) % count).click(force=True, timeout=2_000)
        except PlaywrightError:
            continue
        return clicked
    raise AssertionError("no driver marker on the map could be clicked")


async def run(drivers: int, seconds: float) -> dict[str, Any]:
    data = await migrated("lastmile-bench-map-", SECRET)
    tokens = await seed(data.database_url, drivers)
    server, base = await serve(data, data.path / "server.log")
    stop = asyncio.Event()
    fleet: list[asyncio.Task[int]] = []
    try:
        ws_base = base.replace("http://", "ws://")
        fleet = [
            asyncio.create_task(drive(ws_base, t, i, drivers, stop)) for i, t in enumerate(tokens)
        ]
        async with (
            serve_app("dispatcher_app", base, data.path / "dispatcher_app.log") as url,
            open_in_chromium(url) as ui,
        ):
            ui.page.set_default_timeout(60_000)
            await ui.type_into("login-email", EMAIL)
            await ui.type_into("login-password", PASSWORD)
            signed_in = time.perf_counter()
            await ui.click("login-submit")
            await ui.click("nav-map")
            status = ui.by_id("map-updated")
            await expect(status).to_contain_text(f"{drivers} drivers", timeout=60_000)
            all_on_map_s = time.perf_counter() - signed_in
            await ui.page.wait_for_timeout(2000)

            await ui.page.evaluate(RAF_START)
            first = updates_of(await status.inner_text())
            started = time.perf_counter()
            await ui.page.wait_for_timeout(seconds * 1000)
            last = updates_of(await status.inner_text())
            window = time.perf_counter() - started
            frames = [f for f in await ui.page.evaluate("() => window.__frames") if f > 0]

            clicks: list[float] = []
            markers = ui.by_id("map-driver")
            close = ui.by_id("driver-card-close")
            on_screen = await markers.count()  # the map leaves out markers off screen
            for k in range(5):
                clicked = await click_a_marker(markers, (k * 97) % on_screen)
                await expect(ui.by_id("driver-card-stop")).to_have_count(2, timeout=20_000)
                clicks.append((time.perf_counter() - clicked) * 1000)
                await close.click()
                await expect(ui.by_id("driver-card")).to_have_count(0, timeout=20_000)
            shot = Path("test-artifacts/dispatcher")
            await asyncio.to_thread(shot.mkdir, parents=True, exist_ok=True)
            await click_a_marker(markers, 0)
            await ui.page.wait_for_timeout(800)
            await ui.page.screenshot(path=shot / "map-bench.png")
    finally:
        stop.set()
        accepted = sum(
            r for r in await asyncio.gather(*fleet, return_exceptions=True) if isinstance(r, int)
        )
        await stop_server(server)
    return {
        "drivers": drivers,
        "seconds": round(window, 1),
        "fixes_accepted": accepted,
        "all_on_map_s": round(all_on_map_s, 2),
        "updates_per_s": round((last - first) / window, 2),
        "markers_on_screen": on_screen,
        "frames": len(frames),
        "frame_p50_ms": round(pct(frames, 0.50), 1),
        "frame_p95_ms": round(pct(frames, 0.95), 1),
        "frame_p99_ms": round(pct(frames, 0.99), 1),
        "frame_max_ms": round(max(frames), 1) if frames else float("nan"),
        "fps": round(len(frames) / window, 1),
        "click_to_card_ms": [round(c) for c in clicks],
        "click_to_card_median_ms": round(statistics.median(clicks)) if clicks else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drivers", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 20 drivers for 4 s (figures meaningless)"
    )
    args = parser.parse_args()
    if args.quick:
        args.drivers, args.seconds = 20, 4.0
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium not found at {CHROMIUM}")
    result = asyncio.run(run(args.drivers, args.seconds))
    print(
        f"{result['drivers']} drivers, a fix a second each; all on the map after "
        f"{result['all_on_map_s']} s"
    )
    print(f"updates applied on the page: {result['updates_per_s']}/s (target >= 2/s)")
    print(
        f"frames: {result['fps']}/s, p50 {result['frame_p50_ms']} ms, p95 "
        f"{result['frame_p95_ms']} ms, p99 {result['frame_p99_ms']} ms, max "
        f"{result['frame_max_ms']} ms"
    )
    print(f"click on a driver to card: {result['click_to_card_ms']} ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
