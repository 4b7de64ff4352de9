"""Planning with several backend workers on one database and one real Redis: a plan
started on one worker is followed, compared, published and cancelled through another; one
plan of a day runs at a time across them; a plan whose worker died ends failed, not
"running" forever."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.config import Settings
from tests.backend.optimization.test_optimizations_api import fleet, orders, utc_today, wait
from tests.conftest import database_env, make_settings
from tests.factories import Org, create_org_with_users, login
from tests.live_server import free_port, run_server, server_process


@pytest.fixture
def two_workers(tmp_path: Path, clean_redis: str) -> Iterator[tuple[Settings, str, str]]:
    settings = make_settings(tmp_path, redis_url=clean_redis)
    with run_server(settings) as first, run_server(settings) as second:
        yield settings, first, second


@asynccontextmanager
async def org_on(settings: Settings, base_url: str) -> AsyncIterator[Org]:
    """A new organisation whose users are signed in on the worker at ``base_url``."""
    org_id, slug, emails, driver_ids = await create_org_with_users(settings)
    clients = {role: await login(base_url, emails[role]) for role in ("admin", "dispatcher")}
    try:
        yield Org(org_id, slug, emails, driver_ids, clients)
    finally:
        for client in clients.values():
            await client.aclose()


async def start(client: httpx.AsyncClient, budget_s: float) -> httpx.Response:
    return await client.post(
        "/api/v1/optimizations",
        json={"service_date": utc_today().isoformat(), "time_budget_s": budget_s},
    )


async def until(client: httpx.AsyncClient, job_id: str, within_s: float, check: Any) -> Any:
    deadline = time.monotonic() + within_s
    while True:
        job = (await client.get(f"/api/v1/optimizations/{job_id}")).json()
        if check(job):
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.1)


async def test_a_plan_started_on_one_worker_is_followed_and_published_through_another(
    two_workers: tuple[Settings, str, str],
) -> None:
    settings, first, second = two_workers
    async with org_on(settings, first) as here, org_on(settings, second) as there:
        there_dispatcher = await login(second, here.emails["dispatcher"])
        async with there_dispatcher:
            await fleet(here)
            await orders(here, 8, utc_today(), weight_kg=5)
            started = await start(here.dispatcher, 4)
            assert started.status_code == 202, started.text
            job_id = started.json()["id"]

            # Progress as the solving worker writes it, read through the other worker.
            running = await until(
                there_dispatcher, job_id, 10, lambda j: j["status"] == "running" and j["percent"]
            )
            # The same day asked on the other worker meanwhile: refused, naming the plan.
            again = await start(there_dispatcher, 4)
            assert again.status_code == 409, again.text
            assert again.json()["error"]["details"] == {"optimization_id": job_id}
            assert job_id in again.json()["error"]["message"]
            later = await until(
                there_dispatcher, job_id, 10, lambda j: j["percent"] > running["percent"]
            )
            assert later["status"] in ("running", "done")

            done = await wait(there_dispatcher, job_id, 30)
            assert done["status"] == "done", done
            assert done["percent"] == 100
            assert done["best"]["served"] == 8
            compared = await there_dispatcher.get(f"/api/v1/optimizations/{job_id}/comparison")
            assert compared.status_code == 200, compared.text
            assert compared.json()["optimization_id"] == job_id
            published = await there_dispatcher.post(f"/api/v1/optimizations/{job_id}/publish")
            assert published.status_code == 200, published.text
            assert sorted(published.json()["route_ids"]) == sorted(done["route_ids"])
            for route_id in done["route_ids"]:
                route = (await here.dispatcher.get(f"/api/v1/routes/{route_id}")).json()
                assert route["status"] == "published"

            # Another organisation sees nothing of it on either worker.
            hidden = await there.dispatcher.get(f"/api/v1/optimizations/{job_id}")
            assert hidden.status_code == 404


async def test_a_plan_is_cancelled_through_the_other_worker_and_stops_there(
    two_workers: tuple[Settings, str, str],
) -> None:
    settings, first, second = two_workers
    async with org_on(settings, first) as org:
        there_dispatcher = await login(second, org.emails["dispatcher"])
        async with there_dispatcher:
            await fleet(org)
            await orders(org, 6, utc_today())
            job_id = (await start(org.dispatcher, 120)).json()["id"]
            await until(org.dispatcher, job_id, 10, lambda j: j["status"] == "running")
            cancelled = await there_dispatcher.post(f"/api/v1/optimizations/{job_id}/cancel")
            assert cancelled.status_code == 200, cancelled.text
            assert cancelled.json()["status"] == "cancelled"
            assert (await org.dispatcher.get(f"/api/v1/optimizations/{job_id}")).json()[
                "status"
            ] == "cancelled"
            # The solving worker stopped: the day is free again within a couple of seconds
            # (it held the day until then), and the cancelled plan saved no routes.
            deadline = time.monotonic() + 4
            while (fresh := await start(there_dispatcher, 0.5)).status_code == 409:
                assert time.monotonic() < deadline, "the cancelled solve kept the day"
                await asyncio.sleep(0.1)
            assert fresh.status_code == 202, fresh.text
            assert (await wait(org.dispatcher, job_id, 5))["route_ids"] == []
            assert (await wait(org.dispatcher, fresh.json()["id"], 30))["status"] == "done"
            again = await org.dispatcher.post(f"/api/v1/optimizations/{job_id}/cancel")
            assert again.status_code == 409


async def test_a_plan_whose_worker_died_ends_failed_and_frees_the_day(
    tmp_path: Path, clean_redis: str
) -> None:
    settings = make_settings(tmp_path, redis_url=clean_redis, optimization_stale_after_s=3)
    port = free_port()
    with run_server(settings) as survivor:
        env = {
            **database_env(tmp_path),
            "REDIS_URL": clean_redis,
            "LASTMILE_OPTIMIZATION_STALE_AFTER_S": "3",
        }
        async with org_on(settings, survivor) as org:
            with server_process(tmp_path, port, **env) as doomed:
                there = await login(f"http://127.0.0.1:{port}", org.emails["dispatcher"])
                async with there:
                    await fleet(org)
                    await orders(org, 6, utc_today())
                    # A short budget: the solver child of the killed worker ends soon too.
                    job_id = (await start(there, 15)).json()["id"]
                    await until(org.dispatcher, job_id, 15, lambda j: j["status"] == "running")
                    doomed.kill()
            died_at = time.monotonic()
            failed = await until(org.dispatcher, job_id, 10, lambda j: j["status"] != "running")
            assert failed["status"] == "failed"
            assert "stopped" in failed["error"]
            assert "start the plan again" in failed["error"]
            assert time.monotonic() - died_at < 8
            assert failed["route_ids"] == []
            fresh = await start(org.dispatcher, 0.5)
            assert fresh.status_code == 202, fresh.text
            assert (await wait(org.dispatcher, fresh.json()["id"], 30))["status"] == "done"


async def test_plans_outlive_a_restart_of_a_single_worker(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)  # no Redis: one worker, its leases in process
    with run_server(settings) as url:
        async with org_on(settings, url) as org:
            await fleet(org)
            await orders(org, 4, utc_today())
            stopped_id = (await start(org.dispatcher, 120)).json()["id"]
            await until(org.dispatcher, stopped_id, 10, lambda j: j["status"] == "running")
    with run_server(settings) as url:  # the first server stopped while planning
        async with org_on(settings, url) as other:
            dispatcher = await login(url, org.emails["dispatcher"])
            async with dispatcher:
                stopped = (await dispatcher.get(f"/api/v1/optimizations/{stopped_id}")).json()
                assert stopped["status"] == "failed"
                assert "start the plan again" in stopped["error"]
                done_id = (await start(dispatcher, 0.5)).json()["id"]
                assert (await wait(dispatcher, done_id, 30))["status"] == "done"
            assert (
                await other.dispatcher.get(f"/api/v1/optimizations/{done_id}")
            ).status_code == 404
    with run_server(settings) as url:
        dispatcher = await login(url, org.emails["dispatcher"])
        async with dispatcher:
            done = (await dispatcher.get(f"/api/v1/optimizations/{done_id}")).json()
            assert done["status"] == "done"
            assert done["route_ids"]
            compared = await dispatcher.get(f"/api/v1/optimizations/{done_id}/comparison")
            assert compared.status_code == 200, compared.text
