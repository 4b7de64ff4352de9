"""Rescuing a failed delivery in a real browser: it comes into the inbox, "Reassign" asks
which driver, the change is previewed with every stop's arrival before and after, a stop
is moved, and publishing it puts the order on the other driver's route."""

import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from tests.backend.optimization.test_dispatch_api import EAST, route_with
from tests.backend.optimization.test_optimizations_api import fleet
from tests.browser import CHROMIUM, open_in_chromium, serve_app
from tests.conftest import require_tool
from tests.dispatcher_app.test_exceptions_browser import ARTIFACTS
from tests.factories import PASSWORD, Org


async def driver_stops(client: httpx.AsyncClient, driver_id: int) -> list[int]:
    """The stops of the driver's routes, in order, as they see them."""
    routes = (await client.get("/api/v1/routes", params={"driver_id": driver_id})).json()
    return [s["id"] for r in routes["items"] for s in r["stops"]]


async def stop_orders(org: Org, driver_id: int) -> list[tuple[int, str]]:
    """(stop id, order reference) along the driver's routes."""
    routes = (await org.dispatcher.get("/api/v1/routes", params={"driver_id": driver_id})).json()
    out = []
    for stop in [s for r in routes["items"] for s in r["stops"]]:
        order = (await org.dispatcher.get(f"/api/v1/orders/{stop['order_id']}")).json()
        out.append((stop["id"], order["reference"]))
    return out


def references(rows: list[str]) -> list[str]:
    """The order references of the preview's stop rows, top to bottom."""
    found = [re.search(r"REF-\d+", row) for row in rows]
    return [m.group(0) for m in found if m is not None]


@pytest.mark.browser
@pytest.mark.timeout(180)
async def test_a_failed_delivery_is_reassigned_with_a_preview_and_reaches_the_other_driver(
    org: Org, base_url: str, tmp_path: Path
) -> None:
    require_tool(CHROMIUM, "Chromium")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await fleet(org)
    dora, dirk = org.driver_ids
    route_a, stops_a = await route_with(org, dora, [EAST[0], EAST[1]], "in_progress")
    _route_b, stops_b = await route_with(org, dirk, [EAST[2], EAST[3]], "published")
    failed = (await org.dispatcher.get(f"/api/v1/routes/{route_a}")).json()["stops"][0]
    moved = await org.driver.post(
        f"/api/v1/orders/{failed['order_id']}/transitions", json={"to": "en_route"}
    )
    assert moved.status_code == 200, moved.text

    async with (
        serve_app("dispatcher_app", base_url, tmp_path / "dispatcher_app.log") as url,
        open_in_chromium(url) as ui,
    ):
        await ui.sign_in(org.emails["dispatcher"], PASSWORD)
        await expect(ui.by_id("map-updated")).to_contain_text("live", timeout=10_000)
        await ui.click("nav-exceptions")

        # The driver finds nobody home: the failure comes into the inbox live.
        report = await org.driver.post(
            f"/api/v1/orders/{failed['order_id']}/failure",
            data={"client_id": uuid.uuid4().hex, "reason": "not_home"},
        )
        assert report.status_code == 201, report.text
        item = ui.by_id("exception-item").filter(has_text=f"Order #{failed['order_id']}")
        await expect(item).to_have_count(1, timeout=10_000)
        await item.locator('[flt-semantics-identifier="exception-reassign"]').click()

        # The Plan section asks who takes it; choosing Dirk previews the change.
        await expect(ui.by_id("assign-heading")).to_have_text("Give 1 order to")
        await ui.click("assign-driver")
        await ui.page.get_by_role("button", name="Dirk Driver").click()  # the menu's item
        panel = ui.by_id("assign-preview-panel")
        await expect(panel).to_be_visible(timeout=10_000)
        cards = ui.by_id("assign-route")
        await expect(cards).to_have_count(2)  # Dora's route loses it, Dirk's takes it
        dirk_card = cards.filter(has_text="Dirk Driver")
        await expect(dirk_card.locator('[flt-semantics-identifier="route-stop"]')).to_have_count(3)
        await expect(dirk_card).to_contain_text("new ·")  # the stop joining the route
        await expect(dirk_card).to_contain_text("(was ")  # the others: arrival after, before
        await expect(cards.filter(has_text="Dora Driver")).to_contain_text("leaves this route")
        assert await driver_stops(org.driver2, dirk) == stops_b  # nothing published yet

        # Move Dirk's first stop down one place: the preview follows.
        rows = dirk_card.locator('[flt-semantics-identifier="route-stop"]')
        before = references(await rows.all_inner_texts())
        await dirk_card.locator('[flt-semantics-identifier="route-stop-down"]').first.click()
        await expect(rows.first).to_contain_text(before[1], timeout=10_000)
        after = references(await rows.all_inner_texts())
        assert after == [before[1], before[0], *before[2:]]
        await ui.page.wait_for_timeout(300)
        await ui.page.screenshot(path=ARTIFACTS / "assign-preview.png")

        await ui.click("assign-publish")
        await expect(ui.by_id("assign-published")).to_be_visible(timeout=10_000)

    # Dirk, signed in as himself, has the failed delivery on his route, in the order
    # previewed; Dora's route no longer has it; the inbox item is resolved.
    theirs = await driver_stops(org.driver2, dirk)
    assert sorted(theirs) == sorted([*stops_b, failed["id"]])
    published = []
    for stop_id in theirs:
        [order_id] = [o for o in await stop_orders(org, dirk) if o[0] == stop_id]
        published.append(order_id[1])
    assert published == after  # published as previewed
    assert failed["id"] not in await driver_stops(org.driver, dora)
    assert stops_a[1] in await driver_stops(org.driver, dora)
    order = (await org.dispatcher.get(f"/api/v1/orders/{failed['order_id']}")).json()
    assert (order["status"], order["driver_id"]) == ("assigned", dirk)
    open_items = (await org.dispatcher.get("/api/v1/exceptions")).json()
    assert failed["order_id"] not in [i.get("order_id") for i in open_items]
