"""The customer tracking page in a real Chromium, against the real backend on a real socket."""

import json
import re
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import require_tool
from tests.factories import Org, assign, create_order

pytestmark = pytest.mark.browser

PHONE = ViewportSize(width=390, height=844)  # CSS pixels
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
POLL_MS = 30_000  # the page refreshes itself every 30 s
DRIVER_PHONE = "+377 611 22 33"
RECIPIENT_PHONE = "+377 600 44 55"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    require_tool(CHROMIUM, "Chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
def seen_urls() -> list[str]:
    """Every URL the page requested, in order."""
    return []


@pytest.fixture
async def page(browser: Browser, seen_urls: list[str]) -> AsyncIterator[Page]:
    context = await browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="en-GB", timezone_id="UTC"
    )
    page = await context.new_page()
    page.on("request", lambda request: seen_urls.append(request.url))
    # A fake clock lets a test run the page's 30 s refresh at once.
    await page.clock.install()
    yield page
    await context.close()


async def new_order(org: Org) -> dict[str, Any]:
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, time(9, 0), tzinfo=UTC)
    end = start + timedelta(hours=2)
    dropoff = {
        "address": "7 Avenue de la Costa, 98000 Monaco",
        "lat": 43.7405,
        "lng": 7.4262,
        "time_window": {"start": start.isoformat(), "end": end.isoformat()},
    }
    return await create_order(
        org.dispatcher,
        dropoff=dropoff,
        recipient_phone=RECIPIENT_PHONE,
        instructions="Ring twice, parcel box by the gate",
    )


async def open_link(org: Org, page: Page, base_url: str, order_id: int) -> None:
    response = await org.dispatcher.post(f"/api/v1/orders/{order_id}/tracking-links", json={})
    assert response.status_code == 201, response.text
    link = response.json()
    assert link["url"].endswith(f"/t/{link['token']}")
    await page.goto(f"{base_url}/t/{link['token']}")


async def move(org: Org, order_id: int, to: str) -> None:
    response = await org.dispatcher.post(f"/api/v1/orders/{order_id}/transitions", json={"to": to})
    assert response.status_code == 200, response.text


async def test_new_order_shows_status_address_window_and_instructions(
    org: Org, page: Page, base_url: str
) -> None:
    order = await new_order(org)
    await open_link(org, page, base_url, order["id"])

    await expect(page.get_by_role("status")).to_have_text("Order received")
    await expect(page.locator("#address")).to_have_text("7 Avenue de la Costa, 98000 Monaco")
    await expect(page.locator("#recipient")).to_have_text("Rita Recipient")
    await expect(page.locator("#window")).to_contain_text("09:00\N{EN DASH}11:00")
    await expect(page.locator("#instructions")).to_have_text("Ring twice, parcel box by the gate")
    await expect(page.locator("#pin")).to_contain_text(r"tell it to the driver at the door")
    assert re.match(r"^\d{4} ", await page.locator("#pin").inner_text())
    await expect(page.locator("#driver")).to_have_text("Not assigned yet")
    await expect(page.locator("#timeline li")).to_have_count(1)
    await expect(page.get_by_role("alert")).to_have_count(0)
    # Mobile first: nothing wider than the phone, no sideways scrolling.
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


async def test_shows_driver_first_name_but_not_surname_or_phones(
    org: Org, page: Page, base_url: str
) -> None:
    driver_id = org.driver_ids[0]  # "Dora Driver"
    patched = await org.dispatcher.patch(
        f"/api/v1/drivers/{driver_id}", json={"phone": DRIVER_PHONE}
    )
    assert patched.status_code == 200, patched.text
    order = await new_order(org)
    await assign(org.dispatcher, order["id"], driver_id)

    async with page.expect_response(lambda r: "/api/v1/track/" in r.url) as track:
        await open_link(org, page, base_url, order["id"])
    payload = json.dumps(await (await track.value).json())

    await expect(page.get_by_role("status")).to_have_text("Driver assigned")
    await expect(page.locator("#driver")).to_have_text("Dora")
    html = await page.content()
    for secret in (DRIVER_PHONE, RECIPIENT_PHONE, "Dora Driver"):
        assert secret not in html
        assert secret not in payload


async def test_timeline_lists_transitions_in_order_on_refresh(
    org: Org, page: Page, base_url: str
) -> None:
    order = await new_order(org)
    await open_link(org, page, base_url, order["id"])
    await expect(page.get_by_role("status")).to_have_text("Order received")

    await assign(org.dispatcher, order["id"], org.driver_ids[0])
    await move(org, order["id"], "en_route")
    await page.clock.run_for(POLL_MS)

    await expect(page.get_by_role("status")).to_have_text("On its way")
    items = page.locator("#timeline li")
    await expect(items).to_have_count(3)
    statuses = [await item.get_attribute("data-status") for item in await items.all()]
    assert statuses == ["created", "assigned", "en_route"]
    await expect(items.nth(0)).to_contain_text("Order received")
    await expect(items.nth(1)).to_contain_text("Driver assigned")
    await expect(items.nth(2)).to_contain_text("On its way")
    stamps = [await t.get_attribute("datetime") or "" for t in await items.locator("time").all()]
    assert stamps == sorted(stamps, key=datetime.fromisoformat)


async def test_unknown_token_says_the_link_does_not_exist(page: Page, base_url: str) -> None:
    await page.goto(f"{base_url}/t/{secrets.token_urlsafe(24)}")

    await expect(page.get_by_role("alert")).to_contain_text("does not exist")
    await expect(page.get_by_role("status")).to_have_text("Tracking unavailable")
    await expect(page.locator("#details")).to_be_hidden()


async def test_link_of_a_deleted_order_stops_showing_it(
    org: Org, page: Page, base_url: str
) -> None:
    order = await new_order(org)
    await open_link(org, page, base_url, order["id"])
    await expect(page.get_by_role("status")).to_have_text("Order received")

    deleted = await org.dispatcher.delete(f"/api/v1/orders/{order['id']}")
    assert deleted.status_code == 204, deleted.text
    await page.clock.run_for(POLL_MS)

    await expect(page.get_by_role("alert")).to_contain_text("does not exist")
    await expect(page.locator("#details")).to_be_hidden()
    await expect(page.locator("#title")).to_have_text("Your delivery")
    await expect(page.get_by_role("status")).to_have_attribute("data-status", "unavailable")


async def test_page_talks_to_no_host_but_its_own(
    org: Org, page: Page, base_url: str, seen_urls: list[str]
) -> None:
    order = await new_order(org)
    await assign(org.dispatcher, order["id"], org.driver_ids[0])
    await open_link(org, page, base_url, order["id"])
    await expect(page.locator("#driver")).to_have_text("Dora")
    await page.wait_for_load_state("networkidle")

    paths = {urlsplit(url).path for url in seen_urls}
    assert {"/track-assets/track.css", "/track-assets/track.js"} <= paths
    assert any(path.startswith("/api/v1/track/") for path in paths)
    strangers = [url for url in seen_urls if urlsplit(url).hostname not in LOOPBACK]
    assert strangers == []
