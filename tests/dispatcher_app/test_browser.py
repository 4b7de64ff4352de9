"""The dispatcher app in a real browser: sign in, see the orders and the drivers."""

import uuid
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.backend.pod.test_pod_api import en_route_order
from tests.browser import CHROMIUM, open_in_chromium, serve_app
from tests.conftest import require_tool
from tests.factories import PASSWORD, Org, assign, create_order


@pytest.mark.browser
@pytest.mark.timeout(120)
async def test_dispatcher_signs_in_and_sees_the_orders(
    org: Org, base_url: str, tmp_path: Path
) -> None:
    require_tool(CHROMIUM, "Chromium")
    waiting = await create_order(org.dispatcher)
    taken = await create_order(org.dispatcher)
    await assign(org.dispatcher, taken["id"], org.driver_ids[0])

    async with (
        serve_app("dispatcher_app", base_url, tmp_path / "dispatcher_app.log") as url,
        open_in_chromium(url) as ui,
    ):
        await ui.sign_in(org.emails["dispatcher"], PASSWORD)
        await ui.click("nav-orders")

        rows = ui.by_id("order-row")
        await expect(rows).to_have_count(2)
        await expect(rows.nth(0)).to_contain_text(taken["reference"])
        await expect(rows.nth(0)).to_contain_text("Dora Driver")
        await expect(rows.nth(1)).to_contain_text(waiting["reference"])
        await expect(ui.by_id("driver-row")).to_have_count(2)

        await ui.type_into("order-search", waiting["reference"])
        await ui.by_id("order-search").locator("input").press("Enter")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text(waiting["reference"])

        # Planning from the bar: this organisation has no depot yet, and the app says so.
        # The exceptions: a delivery failed; the badge counts it and the inbox says why.
        failed = await en_route_order(org)
        report = await org.driver.post(
            f"/api/v1/orders/{failed}/failure",
            data={"client_id": uuid.uuid4().hex, "reason": "refused"},
        )
        assert report.status_code == 201, report.text  # no reload: the socket says it
        await expect(ui.by_id("exceptions-badge")).to_contain_text("1")
        await ui.click("nav-exceptions")
        await expect(ui.by_id("exception-item")).to_have_count(1)
        await expect(ui.by_id("exception-item")).to_contain_text(f"Order #{failed}")
        await expect(ui.by_id("exception-item")).to_contain_text("refused")

        await ui.click("nav-plan")
        await ui.click("plan-today")
        await expect(ui.by_id("plan-status")).to_contain_text("depot")
