"""The customer tracking page in a real Chromium, against the real backend on a real socket:
what a customer sees of their order, and nothing of anyone else's."""

import json
import re
import secrets
from datetime import datetime
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, expect

from tests.customer_web.pages import (
    PHONE,
    RECIPIENT_PHONE,
    link_for,
    move,
    new_order,
    open_link,
    snapshot,
)
from tests.factories import Org, assign

pytestmark = pytest.mark.browser

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
DRIVER_PHONE = "+377 611 22 33"


async def test_new_order_shows_status_window_brand_and_what_comes_next(
    org: Org, page: Page, base_url: str
) -> None:
    order = await new_order(org)
    await open_link(org, page, base_url, order["id"])

    await expect(page.get_by_role("status")).to_have_text("Order received")
    await expect(page.locator("#address")).to_have_text("7 Avenue de la Costa, 98000 Monaco")
    await expect(page.locator("#recipient")).to_have_text("Rita Recipient")
    await expect(page.locator("#window")).to_have_text("Tomorrow, 09:00\N{EN DASH}11:00")
    await expect(page.locator("#instructions")).to_have_text("Ring twice, parcel box by the gate")
    await expect(page.locator("#pin")).to_contain_text("tell it to the driver at the door")
    assert re.match(r"^\d{4} ", await page.locator("#pin").inner_text())
    await expect(page.locator("#driver")).to_have_text("Not assigned yet")
    await expect(page.locator("#eta")).to_be_hidden()  # no route yet: no ETA to promise
    # The organisation presents itself.
    name = (await org.admin.get("/api/v1/organization")).json()["name"]
    await expect(page.locator("#brand-name")).to_have_text(name)
    # Progress: what happened, with its time, then what normally comes.
    done = page.locator("#timeline li.done")
    await expect(done).to_have_count(1)
    await expect(done).to_have_attribute("aria-current", "step")
    upcoming = page.locator("#timeline li.upcoming")
    await expect(upcoming).to_have_count(4)
    await expect(upcoming.last).to_contain_text("Delivered")
    # The map shows the address; there is no driver yet.
    await expect(page.locator(".pin--home")).to_be_visible()
    await expect(page.locator(".pin--driver")).to_have_count(0)
    await expect(page.get_by_role("alert")).to_have_count(0)
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await snapshot(page, "01-new-order")


async def test_shows_driver_first_name_and_vehicle_but_not_surname_or_phones(
    org: Org, page: Page, base_url: str
) -> None:
    driver_id = org.driver_ids[0]  # "Dora Driver"
    van = await org.admin.post("/api/v1/vehicles", json={"name": "White e-van"})
    assert van.status_code == 201, van.text
    patched = await org.dispatcher.patch(
        f"/api/v1/drivers/{driver_id}", json={"phone": DRIVER_PHONE, "vehicle_id": van.json()["id"]}
    )
    assert patched.status_code == 200, patched.text
    order = await new_order(org)
    await assign(org.dispatcher, order["id"], driver_id)

    async with page.expect_response(lambda r: "/api/v1/track/" in r.url) as track:
        await open_link(org, page, base_url, order["id"])
    payload = json.dumps(await (await track.value).json())

    await expect(page.get_by_role("status")).to_have_text("Driver assigned")
    await expect(page.locator("#driver")).to_have_text("Dora, White e-van")
    html = await page.content()
    for secret in (DRIVER_PHONE, RECIPIENT_PHONE, "Dora Driver"):
        assert secret not in html
        assert secret not in payload


async def test_timeline_follows_transitions_live(org: Org, page: Page, base_url: str) -> None:
    order = await new_order(org)
    await open_link(org, page, base_url, order["id"])
    await expect(page.get_by_role("status")).to_have_text("Order received")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")

    await assign(org.dispatcher, order["id"], org.driver_ids[0])
    await move(org.dispatcher, order["id"], "en_route")

    # Over the socket: no refresh, no waiting for the clock.
    await expect(page.get_by_role("status")).to_have_text("On its way")
    items = page.locator("#timeline li.done")
    await expect(items).to_have_count(3)
    statuses = [await item.get_attribute("data-status") for item in await items.all()]
    assert statuses == ["created", "assigned", "en_route"]
    await expect(items.nth(0)).to_contain_text("Order received")
    await expect(items.nth(1)).to_contain_text("Driver assigned")
    await expect(items.nth(2)).to_contain_text("On its way")
    stamps = [await t.get_attribute("datetime") or "" for t in await items.locator("time").all()]
    assert stamps == sorted(stamps, key=datetime.fromisoformat)
    await expect(page.locator("#timeline li.upcoming")).to_have_text(
        ["Arriving soon (still to come)", "Delivered (still to come)"]
    )
    # Once the driver is on the way the time can no longer be changed, and the page says why.
    await expect(page.locator("#reschedule-open")).to_be_hidden()
    await expect(page.locator("#reschedule-refusal")).to_contain_text("already on the way")


async def test_unknown_token_says_the_link_does_not_exist(page: Page, base_url: str) -> None:
    await page.goto(f"{base_url}/t/{secrets.token_urlsafe(24)}")

    await expect(page.get_by_role("alert")).to_contain_text("This tracking link does not exist")
    await expect(page.get_by_role("status")).to_have_text("Tracking unavailable")
    await expect(page.locator("#details")).to_be_hidden()
    await snapshot(page, "13-unknown-link")


async def test_link_of_a_deleted_order_stops_showing_it(
    org: Org, page: Page, base_url: str
) -> None:
    order = await new_order(org)
    await open_link(org, page, base_url, order["id"])
    await expect(page.get_by_role("status")).to_have_text("Order received")
    # The socket said hello (it is subscribed): a deletion before that is only read later.
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")

    deleted = await org.dispatcher.delete(f"/api/v1/orders/{order['id']}")
    assert deleted.status_code == 204, deleted.text
    # Heard on the socket at once (no waiting for the page's 5-minute re-read).
    await page.clock.run_for(1000)

    await expect(page.get_by_role("alert")).to_contain_text("does not exist")
    await expect(page.locator("#details")).to_be_hidden()
    await expect(page.locator("#title")).to_have_text("Your delivery")
    await expect(page.get_by_role("status")).to_have_attribute("data-status", "unavailable")


async def test_page_talks_to_no_host_but_its_own_and_asks_only_for_its_order(
    org: Org, page: Page, base_url: str, seen_urls: list[str]
) -> None:
    order = await new_order(org)
    other = await new_order(org)
    await link_for(org, other["id"])  # another customer's link exists; the page never asks
    await assign(org.dispatcher, order["id"], org.driver_ids[0])
    token = await open_link(org, page, base_url, order["id"])
    await expect(page.locator("#driver")).to_have_text("Dora")
    await expect(page.locator(".pin--home")).to_be_visible()
    await page.wait_for_load_state("networkidle")

    paths = {urlsplit(url).path for url in seen_urls}
    assert {"/track-assets/track.css", "/track-assets/track.js"} <= paths
    assert "/track-assets/vendor/leaflet/leaflet.js" in paths
    api = [p for p in paths if p.startswith("/api/")]
    assert api
    assert all(p.startswith(f"/api/v1/track/{token}") for p in api), api
    strangers = [url for url in seen_urls if urlsplit(url).hostname not in LOOPBACK]
    assert strangers == []
    # Leaflet's marker images are never used: the markers are drawn by the page.
    assert not [p for p in paths if p.endswith(".png") and not p.startswith("/tiles/")]


async def test_the_page_is_served_with_a_strict_policy(base_url: str, page: Page) -> None:
    response = await page.goto(f"{base_url}/t/{secrets.token_urlsafe(24)}")
    assert response is not None
    headers = response.headers
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"  # the token never leaves in a Referer
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "connect-src 'self'" in headers["content-security-policy"]
