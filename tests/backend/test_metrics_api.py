"""``/metrics`` over real HTTP, parsed as Prometheus parses it: fixes counted by outcome and
rejection reason, sockets by audience, outbox depths, planning times; the optional token."""

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from backend.config import Settings
from tests.backend.locations.test_fanout_sockets import access_token, live, ws_url
from tests.backend.optimization.test_optimizations_api import fleet, orders, utc_today
from tests.conftest import make_settings
from tests.factories import Org
from tests.live_server import run_server

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(base_url: str, **headers: str) -> Samples:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_fixes_are_counted_by_outcome_and_reason(org: Org, base_url: str) -> None:
    before = await scrape(base_url)
    now = datetime.now(UTC).isoformat()
    fixes = [
        {"lat": 43.7384, "lng": 7.4246, "recorded_at": now},
        {"lat": 0.0, "lng": 0.0, "recorded_at": now},  # a phone with no fix yet
    ]
    sent = await org.driver.post("/api/v1/drivers/me/locations", json={"fixes": fixes})
    assert sent.status_code == 200, sent.text
    after = await scrape(base_url)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("lastmile_fixes_total", outcome="received") >= 2
    assert grew("lastmile_fixes_total", outcome="accepted") >= 1
    assert grew("lastmile_fixes_rejected_total", reason="zero") >= 1


async def test_open_sockets_are_counted_by_audience(org: Org, base_url: str) -> None:
    url = ws_url(base_url, f"/api/v1/fleet/ws?token={await access_token(org.dispatcher)}")
    idle = value(await scrape(base_url), "lastmile_sockets", audience="dispatcher")
    async with live(url):
        watching = value(await scrape(base_url), "lastmile_sockets", audience="dispatcher")
        assert watching == idle + 1
    for _ in range(50):  # the server notices the close a moment later
        if value(await scrape(base_url), "lastmile_sockets", audience="dispatcher") == idle:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the closed socket is still counted")


async def test_outboxes_and_planning_times_are_reported(org: Org, base_url: str) -> None:
    samples = await scrape(base_url)
    assert ("lastmile_queue_depth", (("queue", "notifications"),)) in samples
    assert ("lastmile_queue_failed", (("queue", "notifications"),)) in samples
    assert ("lastmile_queue_failed", (("queue", "webhooks"),)) in samples  # webhook failures
    before = value(samples, "lastmile_solver_seconds_count", status="done")

    day = utc_today()
    await fleet(org)
    await orders(org, 3, day, weight_kg=1)
    started = await org.dispatcher.post(
        "/api/v1/optimizations", json={"service_date": day.isoformat(), "time_budget_s": 1}
    )
    assert started.status_code == 202, started.text
    job = started.json()["id"]
    for _ in range(200):
        status = (await org.dispatcher.get(f"/api/v1/optimizations/{job}")).json()["status"]
        if status == "done":
            break
        await asyncio.sleep(0.1)
    after = await scrape(base_url)
    assert value(after, "lastmile_solver_seconds_count", status="done") == before + 1
    assert value(after, "lastmile_solver_seconds_sum", status="done") > 0


@pytest.fixture(scope="module")
def guarded_url(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second backend whose /metrics wants a token."""
    data_dir: Path = tmp_path_factory.mktemp("metrics")
    configured = make_settings(
        data_dir, database_url=settings.resolved_database_url, metrics_token="scrape-me"
    )
    with run_server(configured) as url:
        yield url


async def test_with_a_token_set_a_scrape_must_send_it(guarded_url: str) -> None:
    async with httpx.AsyncClient(base_url=guarded_url) as http:
        assert (await http.get("/metrics")).status_code == 401
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
    samples = await scrape(guarded_url, Authorization="Bearer scrape-me")
    assert ("lastmile_sockets", (("audience", "customer"),)) in samples
