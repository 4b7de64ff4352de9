"""Planning from the dispatcher app: its state against the real backend (no Flutter)."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from dispatcher_app.state.app import DispatcherAppState
from dispatcher_app.state.planning import progress_text
from shared.api_client import ApiClient
from shared.schemas.optimization import BestSoFar, OptimizationOut, OptimizationStatus
from tests.backend.optimization.test_optimizations_api import fleet, orders, utc_today
from tests.factories import PASSWORD, Org


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[ApiClient]:
    async with ApiClient(base_url) as api:
        yield api


async def signed_in(org: Org, client: ApiClient) -> DispatcherAppState:
    app = DispatcherAppState(client, tz=UTC)
    app.planning._poll_s = 0.1
    assert await app.login(org.emails["dispatcher"], PASSWORD)
    return app


async def test_plan_today_shows_progress_then_publishes_the_routes(
    org: Org, client: ApiClient
) -> None:
    day = utc_today()
    await fleet(org)
    planned = await orders(org, 8, day)
    app = await signed_in(org, client)
    seen: list[str] = []
    fractions: list[float | None] = []
    app.planning.subscribe(lambda: seen.append(app.planning.text))
    app.planning.subscribe(lambda: fractions.append(app.planning.progress))

    await app.planning.plan(day, time_budget_s=1.5)

    assert any(text.startswith("Planning…") for text in seen), seen
    assert any(f is not None and f < 1 for f in fractions), fractions
    assert fractions[-1] == 1.0
    assert app.planning.best.startswith(f"best: {len(planned)}/{len(planned)} orders")
    job = app.planning.job
    assert job is not None
    assert job.status is OptimizationStatus.DONE
    assert app.planning.text.startswith(f"{len(job.route_ids)} draft routes")
    assert f"{len(planned)}/{len(planned)} orders" in app.planning.text
    assert app.planning.can_publish
    comparison = app.planning.comparison
    assert comparison is not None
    assert comparison.optimization_id == job.id
    assert comparison.current.routes == 0
    assert {o.order_id for o in comparison.current.unassigned} == {o["id"] for o in planned}
    assert comparison.proposal.routes == len(job.route_ids)
    assert comparison.proposal.stops == len(planned)
    assert comparison.proposal.unassigned == []

    await app.planning.publish()
    assert app.planning.published
    assert not app.planning.can_publish
    for route_id in job.route_ids:
        route = (await org.dispatcher.get(f"/api/v1/routes/{route_id}")).json()
        assert route["status"] == "published"


async def test_a_plan_can_be_cancelled_from_the_app(org: Org, client: ApiClient) -> None:
    day = utc_today()
    await fleet(org)
    await orders(org, 4, day)
    app = await signed_in(org, client)
    running = asyncio.create_task(app.planning.plan(day, time_budget_s=60))
    for _ in range(100):
        if app.planning.running and app.planning.job is not None:
            break
        await asyncio.sleep(0.05)
    await app.planning.cancel()
    await asyncio.wait_for(running, 10)
    assert app.planning.text == "Planning cancelled"
    assert not app.planning.can_publish
    assert app.planning.comparison is None


async def test_nothing_to_plan_is_said_plainly(org: Org, client: ApiClient) -> None:
    await fleet(org)
    app = await signed_in(org, client)
    await app.planning.plan(utc_today(), time_budget_s=1)
    assert app.planning.text == "nothing to plan: no unassigned orders off routes"


def test_progress_lines() -> None:
    now = datetime.now(UTC)
    job = OptimizationOut(
        id="j",
        status=OptimizationStatus.RUNNING,
        percent=40,
        best=BestSoFar(drive_s=5400, distance_m=42_500, served=9),
        order_count=10,
        driver_count=2,
        engine=None,
        route_ids=[],
        unassigned=[],
        error=None,
        created_at=now,
        finished_at=None,
    )
    assert progress_text(None) == "No plan yet"
    assert progress_text(job) == (
        "Planning… 40 % · best so far: 9/10 orders, 1 h 30 min driving, 42.5 km"
    )
    done = job.model_copy(
        update={"status": OptimizationStatus.DONE, "percent": 100, "route_ids": [1, 2]}
    )
    assert progress_text(done).startswith("2 draft routes")


async def test_a_plan_published_meanwhile_is_not_published_twice(
    org: Org, client: ApiClient
) -> None:
    day = utc_today()
    await fleet(org)
    await orders(org, 3, day)
    app = await signed_in(org, client)
    await app.planning.plan(day, time_budget_s=0.5)
    job = app.planning.job
    assert job is not None
    assert job.route_ids
    # Someone else publishes a draft by hand first: all or nothing, so nothing, and why.
    by_hand = await org.dispatcher.patch(
        f"/api/v1/routes/{job.route_ids[0]}", json={"status": "published"}
    )
    assert by_hand.status_code == 200, by_hand.text
    await app.planning.publish()
    assert not app.planning.published
    assert "not drafts any more" in app.planning.text
