"""Fixes per second through ``Pipeline.ingest`` (clean → durable history → current), no HTTP.

    .venv/bin/python bench/pipeline.py [--quick]

A fresh SQLite file (WAL, the raw-sqlite3 group-commit writer, as ``lastmile serve`` uses);
``callers`` concurrent coroutines, each one driver, call ``ingest`` back to back with batches
of 1 and then 10 fixes for ``seconds`` each. Every returned call is committed. No fan-out.
Prints figures, then one JSON line.
"""

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from backend.db import create_engine, session_scope  # noqa: E402
from backend.locations.fix import DriverRef, Fix  # noqa: E402
from backend.locations.pipeline import Pipeline, build_pipeline  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.models import Driver  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.factories import create_org_with_users  # noqa: E402


async def _drivers(settings_dir: Path, count: int) -> list[DriverRef]:
    settings = make_settings(settings_dir)
    org_id, _, _, _ = await create_org_with_users(settings)
    engine = create_engine(settings.resolved_database_url)
    refs = []
    async with session_scope(engine) as session:
        rows = [Driver(org_id=org_id, name=f"Bench {i}") for i in range(count)]
        session.add_all(rows)
        await session.flush()
        refs = [DriverRef(org_id, r.id) for r in rows if r.id is not None]
    await engine.dispose()
    return refs


async def _run(
    pipeline: Pipeline, drivers: list[DriverRef], batch: int, seconds: float, t0: float
) -> dict[str, float]:
    latencies: list[float] = []
    accepted = 0
    deadline = time.perf_counter() + seconds

    async def caller(n: int, driver: DriverRef) -> None:
        nonlocal accepted
        t = t0 + n * 1e-4
        while time.perf_counter() < deadline:
            now = time.time()
            fixes = [
                Fix(lat=43.73, lng=7.42, recorded_at=t + k * 0.05, received_at=now, accuracy_m=8)
                for k in range(batch)
            ]
            t += batch * 0.05
            started = time.perf_counter()
            result = await pipeline.ingest(driver, fixes)
            latencies.append(time.perf_counter() - started)
            accepted += result.accepted

    commits_before = pipeline.metrics.get("history_commits")
    started = time.perf_counter()
    await asyncio.gather(*(caller(n, d) for n, d in enumerate(drivers)))
    elapsed = time.perf_counter() - started
    commits = pipeline.metrics.get("history_commits") - commits_before
    latencies.sort()
    return {
        "fixes_per_s": round(accepted / elapsed),
        "calls_per_s": round(len(latencies) / elapsed),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
        "fixes_per_commit": round(accepted / max(commits, 1), 1),
    }


async def main_async(quick: bool) -> dict[str, object]:
    callers, seconds = (100, 3.0) if quick else (500, 15.0)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        settings = make_settings(data_dir)
        engine = create_engine(settings.resolved_database_url)
        await upgrade(engine)
        drivers = await _drivers(data_dir, callers)
        pipeline = build_pipeline(settings, engine)
        await pipeline.start()
        figures: dict[str, object] = {"callers": callers, "seconds_per_run": seconds}
        try:
            t0 = time.time() - 86_400  # a day ago: room for every fix before "now"
            for batch in (1, 10):
                run = await _run(pipeline, drivers, batch, seconds, t0 + batch * 3600)
                print(f"batch {batch:>2}: {json.dumps(run)}")
                figures[f"batch_{batch}"] = run
        finally:
            await pipeline.stop()
            await engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100 callers, 3 s per run")
    args = parser.parse_args()
    figures = asyncio.run(main_async(args.quick))
    batch_1 = figures["batch_1"]
    batch_10 = figures["batch_10"]
    assert isinstance(batch_1, dict)
    assert isinstance(batch_10, dict)
    summary = {
        "fixes_per_s_batch_1": batch_1["fixes_per_s"],
        "fixes_per_s_batch_10": batch_10["fixes_per_s"],
        **figures,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
