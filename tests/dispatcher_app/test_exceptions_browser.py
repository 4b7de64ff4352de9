"""The exceptions inbox and the KPIs in a real browser: a delivery failed on the road
shows in the inbox and on the badge without a reload; marking it resolved takes the
badge down; the KPIs show today's figures and charts."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.backend.pod.test_pod_api import en_route_order
from tests.browser import CHROMIUM, open_in_chromium, serve_app
from tests.conftest import require_tool
from tests.factories import PASSWORD, Org

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dispatcher"


async def fail(org: Org, reason: str) -> int:
    order_id = await en_route_order(org)
    report = await org.driver.post(
        f"/api/v1/orders/{order_id}/failure",
        data={"client_id": uuid.uuid4().hex, "reason": reason, "note": "nobody at the door"},
    )
    assert report.status_code == 201, report.text
    return order_id


async def a_delivered_stop_on_a_driven_route(org: Org) -> int:
    """A delivery on a published route of today, after 40 minutes of GPS track, and its
    customer's tracking page opened: every KPI tile has something to show."""
    now = datetime.now(UTC)
    order_id = await en_route_order(org)
    order = (await org.dispatcher.get(f"/api/v1/orders/{order_id}")).json()
    route = await org.dispatcher.post(
        "/api/v1/routes",
        json={
            "driver_id": org.driver_ids[0],
            "service_date": now.date().isoformat(),
            "stops": [{"stop_id": order["stops"][0]["id"]}],
        },
    )
    assert route.status_code == 201, route.text
    published = await org.dispatcher.patch(
        f"/api/v1/routes/{route.json()['id']}", json={"status": "published"}
    )
    assert published.status_code == 200, published.text
    fixes = [
        {
            "lat": 43.70,
            "lng": 7.26 + 0.004 * k,
            "recorded_at": (now - timedelta(minutes=40 - 2 * k)).isoformat(),
        }
        for k in range(20)
    ]
    sent = await org.driver.post("/api/v1/drivers/me/locations", json={"fixes": fixes})
    assert sent.status_code == 200, sent.text
    done = await org.driver.post(f"/api/v1/orders/{order_id}/transitions", json={"to": "delivered"})
    assert done.status_code == 200, done.text
    link = await org.dispatcher.post(f"/api/v1/orders/{order_id}/tracking-links", json={})
    seen = await org.dispatcher.get(f"/api/v1/track/{link.json()['token']}")
    assert seen.status_code == 200, seen.text
    return order_id


@pytest.mark.browser
@pytest.mark.timeout(180)
async def test_a_failure_comes_in_live_and_resolving_it_takes_the_badge_down(
    org: Org, base_url: str, tmp_path: Path
) -> None:
    require_tool(CHROMIUM, "Chromium")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await a_delivered_stop_on_a_driven_route(org)
    first = await fail(org, "damaged")

    async with (
        serve_app("dispatcher_app", base_url, tmp_path / "dispatcher_app.log") as url,
        open_in_chromium(url) as ui,
    ):
        await ui.sign_in(org.emails["dispatcher"], PASSWORD)
        await expect(ui.by_id("exceptions-badge")).to_contain_text("1")
        await ui.click("nav-exceptions")
        items = ui.by_id("exception-item")
        await expect(items).to_have_count(1)

        # The driver reports another failure: it comes in over the fleet socket.
        second = await fail(org, "not_home")
        await expect(ui.by_id("exceptions-badge")).to_contain_text("2")
        await expect(items).to_have_count(2)
        newest = items.first
        await expect(newest).to_contain_text(f"Order #{second}")
        await expect(newest).to_contain_text("not home")
        await expect(newest).to_contain_text("Dora Driver")
        await expect(newest).to_contain_text("+377 600 000")
        call = newest.locator('[flt-semantics-identifier="exception-call"]')
        await expect(call).to_have_count(1)
        await expect(items.nth(1)).to_contain_text(f"Order #{first}")
        await ui.page.wait_for_timeout(500)
        await ui.page.screenshot(path=ARTIFACTS / "exceptions.png")

        # Marked resolved: out of the inbox, and the badge counts one.
        await items.nth(1).locator('[flt-semantics-identifier="exception-resolve"]').click()
        await expect(items).to_have_count(1)
        await expect(ui.by_id("exceptions-badge")).to_contain_text("1")
        await expect(ui.by_id("exceptions-notice")).to_contain_text("resolved")
        await expect(items.first).to_contain_text(f"Order #{second}")

        # Reassign asks which driver takes the order (see test_assign_browser.py).
        await items.first.locator('[flt-semantics-identifier="exception-reassign"]').click()
        await expect(ui.by_id("assign-heading")).to_have_text("Give 1 order to")

        # The KPIs of today: one delivered at the first try of three first attempts, an
        # hour before its window opened (so not on time).
        await ui.click("nav-kpis")
        await expect(ui.by_id("kpi-first-attempt")).to_contain_text("33 %")
        await expect(ui.by_id("kpi-first-attempt")).to_contain_text("1 of 3")
        await expect(ui.by_id("kpi-on-time")).to_contain_text("0 of 1")
        await expect(ui.by_id("kpi-distance")).to_contain_text("1 route")
        await expect(ui.by_id("kpi-track-views")).to_contain_text("1 visit about 1 order")
        await expect(ui.by_id("kpi-stops-per-hour")).to_contain_text("3 stops")
        await expect(ui.by_id("kpi-stops-per-day")).to_contain_text("3 stops in 1 driver day")
        # Its window's row: 1 delivered, none on time (0 %), 1 early.
        await expect(ui.by_id("kpi-windows")).to_contain_text("0 (0 %)")
        await expect(ui.by_id("kpi-chart-deliveries")).to_be_visible()
        await expect(ui.by_id("kpi-chart-distance")).to_be_visible()
        await ui.click("kpis-range-7d")
        await expect(ui.by_id("kpi-first-attempt")).to_contain_text("1 of 3")
        await ui.page.wait_for_timeout(800)  # let the charts paint for the screenshot
        await ui.page.screenshot(path=ARTIFACTS / "kpis.png")
