"""Latency and throughput of the orders API: the real backend, over real HTTP, on loopback.

Run from the repository root::

    .venv/bin/python bench/api_latency.py [--quick]

It starts the backend with uvicorn on a free 127.0.0.1 port against a fresh SQLite database in a
temporary directory, signs in one dispatcher and makes every request one after another (one
connection, no concurrency), so each figure is the latency one client sees. Figures for people
come first; the last line of standard output is one JSON object with the same figures.
"""

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import make_settings
from tests.factories import create_org_with_users, login, order_payload
from tests.live_server import run_server

BATCH_SIZE = 100  # orders per POST /api/v1/orders/batch
LIST_LIMIT = 50  # orders per page in GET /api/v1/orders


@dataclass(frozen=True)
class Plan:
    """How many timed requests of each kind; every loop is bounded by these counts."""

    warmup: int  # untimed requests of each kind first (connection, caches, first queries)
    single_posts: int
    batches: int
    stored_orders: int  # orders in the organisation while its list is measured
    list_requests: int
    transitions: int  # orders moved created -> assigned -> en_route


FULL = Plan(
    warmup=20, single_posts=500, batches=20, stored_orders=1000, list_requests=500, transitions=300
)
QUICK = Plan(
    warmup=5, single_posts=100, batches=5, stored_orders=1000, list_requests=150, transitions=60
)


@dataclass(frozen=True)
class Figures:
    """Latencies of one kind of request, in milliseconds, and what went through per second."""

    requests: int
    items_per_request: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    requests_per_s: float
    items_per_s: float


class BenchError(RuntimeError):
    """The backend answered something other than what the benchmark needs."""


Call = Callable[[int], Awaitable[httpx.Response]]


async def timed(
    count: int, call: Call, expected_status: int, items_per_request: int = 1
) -> Figures:
    """Make ``count`` requests one after another and summarise how long each took."""
    samples_s: list[float] = []
    started = time.perf_counter()
    for i in range(count):
        before = time.perf_counter()
        response = await call(i)
        samples_s.append(time.perf_counter() - before)
        check(response, expected_status)
    elapsed_s = time.perf_counter() - started
    ms = [s * 1000 for s in samples_s]
    cuts = statistics.quantiles(ms, n=100, method="inclusive")  # cuts[k - 1] is the k-th percentile
    return Figures(
        requests=count,
        items_per_request=items_per_request,
        p50_ms=round(cuts[49], 2),
        p95_ms=round(cuts[94], 2),
        p99_ms=round(cuts[98], 2),
        max_ms=round(max(ms), 2),
        requests_per_s=round(count / elapsed_s, 1),
        items_per_s=round(count * items_per_request / elapsed_s, 1),
    )


def check(response: httpx.Response, expected_status: int) -> None:
    if response.status_code != expected_status:
        request = response.request
        raise BenchError(
            f"{request.method} {request.url.path} answered {response.status_code}, "
            f"not {expected_status}: {response.text[:300]}"
        )


async def untimed(count: int, call: Call, expected_status: int) -> list[httpx.Response]:
    responses = []
    for i in range(count):
        response = await call(i)
        check(response, expected_status)
        responses.append(response)
    return responses


async def create_batches(client: httpx.AsyncClient, orders: int) -> list[int]:
    """Untimed: store at least ``orders`` orders, in batches; return their ids."""
    ids: list[int] = []
    while len(ids) < orders:
        body = {"orders": [order_payload() for _ in range(BATCH_SIZE)]}
        response = await client.post("/api/v1/orders/batch", json=body)
        check(response, 201)
        ids.extend(order["id"] for order in response.json())
    return ids


async def measure(
    base_url: str, plan: Plan, dispatcher_email: str, driver_id: int
) -> dict[str, Figures]:
    """The timed phases, in this order so the list runs on ``plan.stored_orders`` orders."""
    results: dict[str, Figures] = {}
    async with await login(base_url, dispatcher_email) as client:

        def post_one(_: int) -> Awaitable[httpx.Response]:
            return client.post("/api/v1/orders", json=order_payload())

        await untimed(plan.warmup, post_one, 201)  # also signs in
        results["create_single"] = await timed(plan.single_posts, post_one, 201)

        await create_batches(client, plan.stored_orders - plan.warmup - plan.single_posts)

        def list_page(_: int) -> Awaitable[httpx.Response]:
            return client.get("/api/v1/orders", params={"limit": LIST_LIMIT})

        [first] = await untimed(1, list_page, 200)
        total, items = first.json()["total"], len(first.json()["items"])
        if total < plan.stored_orders or items != LIST_LIMIT:
            raise BenchError(f"expected {plan.stored_orders}+ orders, got {total} ({items} listed)")
        await untimed(plan.warmup, list_page, 200)
        results["list_50"] = await timed(plan.list_requests, list_page, 200, LIST_LIMIT)

        bodies = [
            {"orders": [order_payload() for _ in range(BATCH_SIZE)]} for _ in range(plan.batches)
        ]

        def post_batch(i: int) -> Awaitable[httpx.Response]:
            return client.post("/api/v1/orders/batch", json=bodies[i])

        results["create_batch_100"] = await timed(plan.batches, post_batch, 201, BATCH_SIZE)

        order_ids = await create_batches(client, plan.transitions)

        def move(to: str, **extra: int) -> Call:
            def call(i: int) -> Awaitable[httpx.Response]:
                path = f"/api/v1/orders/{order_ids[i]}/transitions"
                return client.post(path, json={"to": to, **extra})

            return call

        assign = move("assigned", driver_id=driver_id)
        results["transition_assign"] = await timed(plan.transitions, assign, 200)
        results["transition_en_route"] = await timed(plan.transitions, move("en_route"), 200)
    return results


def report(results: dict[str, Figures]) -> None:
    columns = ("n", "p50 ms", "p95 ms", "p99 ms", "max ms", "req/s", "orders/s")
    print(f"{'request':<20}" + "".join(f"{c:>9}" for c in columns))
    for name, f in results.items():
        values = (f.p50_ms, f.p95_ms, f.p99_ms, f.max_ms, f.requests_per_s, f.items_per_s)
        print(f"{name:<20}{f.requests:>9}" + "".join(f"{v:>9.1f}" for v in values))


async def run(plan: Plan, data_dir: Path) -> dict[str, Figures]:
    settings = make_settings(data_dir)
    with run_server(settings) as base_url:
        _, _, emails, driver_ids = await create_org_with_users(settings)
        return await measure(base_url, plan, emails["dispatcher"], driver_ids[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller counts, under a minute")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL

    load_before = round(os.getloadavg()[0], 2)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lastmile-bench-") as tmp:
        results = asyncio.run(run(plan, Path(tmp)))
    wall_s = time.perf_counter() - started

    mode = "quick" if args.quick else "full"
    print(f"api_latency ({mode}): {wall_s:.1f} s, {os.cpu_count()} CPUs, load {load_before}")
    report(results)
    summary: dict[str, Any] = {
        "bench": "api_latency",
        "quick": args.quick,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_s": round(wall_s, 1),
        "environment": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            # Other work on the machine shows up in the tail latencies.
            "load_avg_1m_before": load_before,
            "load_avg_1m_after": round(os.getloadavg()[0], 2),
        },
        "plan": asdict(plan),
        "results": {name: asdict(f) for name, f in results.items()},
    }
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
