"""Location history retention with two backend workers on one database and one real
Redis: each worker's retention loop wakes at start, but one of them prunes per interval."""

import asyncio
import re
import time
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from backend.locations.pipeline import RETENTION_LEASE
from tests.conftest import make_settings
from tests.live_server import run_server


async def pipeline_count(base_url: str, name: str) -> int:
    async with httpx.AsyncClient(base_url=base_url) as client:
        text = (await client.get("/metrics")).text
    found = re.search(rf'^lastmile_pipeline_events_total{{name="{name}"}} (\S+)$', text, re.M)
    return int(float(found.group(1))) if found else 0


async def test_two_workers_prune_the_history_once_per_interval(
    tmp_path: Path, redis_url: str
) -> None:
    client = aioredis.from_url(redis_url)
    await client.delete(RETENTION_LEASE)
    settings = make_settings(tmp_path, redis_url=redis_url)
    try:
        with run_server(settings) as first, run_server(settings) as second:
            deadline = time.monotonic() + 10
            while True:  # both workers' loops have woken: one pruned, one skipped
                counts = {
                    name: [await pipeline_count(url, name) for url in (first, second)]
                    for name in ("history_prunes", "history_prunes_skipped")
                }
                if sum(counts["history_prunes"]) + sum(counts["history_prunes_skipped"]) >= 2:
                    break
                assert time.monotonic() < deadline, counts
                await asyncio.sleep(0.05)
            assert sorted(counts["history_prunes"]) == [0, 1], counts
            assert sorted(counts["history_prunes_skipped"]) == [0, 1], counts
            # The lease stays for the interval (an hour): a restart in it does not prune.
            ttl_ms = await client.pttl(RETENTION_LEASE)
            assert 3_500_000 < ttl_ms <= 3_600_000
    finally:
        await client.delete(RETENTION_LEASE)
        await client.aclose()
