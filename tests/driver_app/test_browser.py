"""The driver app in a real browser: sign in, see today's stops, the next one marked, and
a customer's change arrive live, outlined until the driver says they saw it."""

from datetime import date
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Route, expect

from tests.backend.test_self_service import link_for
from tests.browser import CHROMIUM, open_in_chromium, serve_app
from tests.conftest import require_tool
from tests.driver_app.routes import assigned_orders, dropoff_address, plan_route
from tests.factories import PASSWORD, Org


@pytest.mark.browser
@pytest.mark.timeout(120)
async def test_driver_signs_in_and_sees_todays_stops(
    org: Org, base_url: str, tmp_path: Path
) -> None:
    require_tool(CHROMIUM, "Chromium")
    orders = await assigned_orders(org.dispatcher, org.driver_ids[0], 2)
    # The app runs on this machine, so its "today" is this machine's local date.
    await plan_route(org.dispatcher, org.driver_ids[0], date.today(), orders)

    async with (
        serve_app("driver_app", base_url, tmp_path / "driver_app.log") as url,
        open_in_chromium(url) as ui,
    ):
        await ui.sign_in(org.emails["driver"], "wrong-password")
        await expect(ui.by_id("login-error")).to_have_text("wrong email or password")

        await ui.type_into("login-password", PASSWORD)
        await ui.click("login-submit")

        await expect(ui.by_id("stop-row")).to_have_count(2)
        await expect(ui.by_id("next-stop")).to_contain_text(dropoff_address(orders[0]))
        await expect(ui.by_id("stop-row").nth(1)).to_contain_text(dropoff_address(orders[1]))

        # Only the next stop offers navigation; on the web it opens directions in a new tab.
        await expect(ui.by_id("navigate")).to_have_count(1)
        await expect(
            ui.by_id("next-stop").locator('[flt-semantics-identifier="navigate"]')
        ).to_have_count(1)
        directions: list[str] = []

        async def answer(route: Route) -> None:
            directions.append(route.request.url)
            await route.fulfill(body="directions", content_type="text/plain")

        await ui.page.context.route("https://www.openstreetmap.org/**", answer)
        async with ui.page.context.expect_page() as opened:
            await ui.click("navigate")
        await (await opened.value).close()
        stop = orders[0]["stops"][0]
        assert len(directions) == 1
        assert f"{stop['lat']:.6f}%2C{stop['lng']:.6f}" in directions[0]

        # The customer leaves a gate code: the stop shows it, outlined, without a reload.
        token = await link_for(org, orders[1]["id"])
        async with httpx.AsyncClient(base_url=base_url) as customer:
            response = await customer.put(
                f"/api/v1/track/{token}/instructions", json={"option": "gate_code", "text": "4821"}
            )
            assert response.status_code == 200, response.text
        changed_row = ui.by_id("stop-row").nth(1)
        await expect(changed_row.get_by_text("Changed: new instructions")).to_be_visible()
        await expect(changed_row).to_contain_text("Gate code: 4821")
        await ui.click("changes-seen")
        await expect(ui.by_id("stop-changed")).to_have_count(0)
        await expect(changed_row).to_contain_text("Gate code: 4821")
