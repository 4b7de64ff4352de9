"""Planning the day in a real browser: the optimiser's progress and best plan so far, the
proposal compared with the current plan, then published: the drivers see their routes."""

from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.backend.optimization.test_optimizations_api import (
    day_window,
    dropoff_at,
    fleet,
    orders,
    utc_today,
)
from tests.browser import CHROMIUM, open_in_chromium, serve_app
from tests.conftest import require_tool
from tests.dispatcher_app.test_exceptions_browser import ARTIFACTS
from tests.factories import PASSWORD, Org, create_order

BUDGET_S = 3  # the optimiser's time budget: a few seconds of visible progress


@pytest.mark.browser
@pytest.mark.timeout(180)
async def test_the_day_is_planned_with_visible_progress_compared_and_published(
    org: Org, base_url: str, tmp_path: Path
) -> None:
    require_tool(CHROMIUM, "Chromium")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    day = utc_today()
    await fleet(org)  # a depot; both drivers get a 40 kg van based there
    planned = await orders(org, 15, day, weight_kg=5)  # 75 kg: both vans are needed
    too_heavy = await create_order(
        org.dispatcher,
        dropoff={**dropoff_at(43.7380, 7.4220), "time_window": day_window(day, 9, 17)},
        weight_kg=90,
    )

    async with (
        serve_app(
            "dispatcher_app",
            base_url,
            tmp_path / "dispatcher_app.log",
            env={"LASTMILE_PLAN_BUDGET_S": str(BUDGET_S)},
        ) as url,
        open_in_chromium(url) as ui,
    ):
        await ui.sign_in(org.emails["dispatcher"], PASSWORD)
        await ui.click("nav-plan")
        await ui.click("plan-today")

        # While the optimiser runs: the bar, a percent under 100 and a cancel button.
        await expect(ui.by_id("plan-progress")).to_be_visible(timeout=10_000)
        await expect(ui.by_id("plan-cancel")).to_be_visible()
        await expect(ui.by_id("plan-percent")).to_contain_text(" %")
        await expect(ui.by_id("plan-status")).to_have_text("Planning…")
        await ui.page.screenshot(path=ARTIFACTS / "plan-progress.png")

        # Done: 100 %, the best plan, and the proposal against the current plan (nothing
        # was routed yet: every order is "not on any route" today); the heavy one is left
        # out of the proposal, and why.
        comparison = ui.by_id("plan-comparison")
        await expect(comparison).to_be_visible(timeout=30_000)
        await expect(ui.by_id("plan-percent")).to_contain_text("100 %")
        await expect(ui.by_id("plan-percent")).to_contain_text("best: 15/16 orders")
        await expect(ui.by_id("plan-cancel")).to_have_count(0)
        await expect(ui.by_id("plan-status")).to_have_text("2 draft routes · 1 left out")
        for words in ("Current plan", "Once published", "Distance", "Late stops", "Unassigned"):
            await expect(comparison).to_contain_text(words)
        await expect(ui.by_id("plan-unassigned")).to_contain_text(
            f"Order #{too_heavy['id']}: too heavy or bulky for any van"
        )
        await ui.page.wait_for_timeout(300)
        await ui.page.screenshot(path=ARTIFACTS / "plan-comparison.png")

        await ui.click("plan-publish")
        await expect(ui.by_id("plan-published")).to_be_visible()

    # Each driver, signed in as themselves, now has a published route of today.
    seen: set[int] = set()
    for client in (org.driver, org.driver2):
        mine = await client.get(
            "/api/v1/routes", params={"service_date": day.isoformat(), "status": "published"}
        )
        assert mine.status_code == 200, mine.text
        [route] = mine.json()["items"]
        seen |= {stop["order_id"] for stop in route["stops"]}
    assert seen == {o["id"] for o in planned}
