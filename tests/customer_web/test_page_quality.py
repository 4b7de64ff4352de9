"""How the page holds up: first view under a second on localhost, under 300 KB (map tiles
aside), usable at 360 px, no accessibility violations axe-core can find, the map with and
without its tiles, and the formatting behind the ETA line."""

import asyncio
import io
import json
import time
from importlib.resources import files
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.async_api import Browser, Page, Request, Route, expect

from backend.tracking_links.self_service import InstructionOption, instruction_text
from tests.backend.pod.test_pod_api import en_route_order, send_pod
from tests.customer_web.pages import (
    ARTIFACTS,
    HOME,
    NARROW,
    drive_until,
    link_for,
    new_order,
    on_route,
    open_link,
    phone_context,
    snapshot,
    south_of,
    tracking_view,
)
from tests.factories import Org

pytestmark = pytest.mark.browser

FIRST_VIEW_S = 1.0
PAGE_BYTES = 300_000
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


async def driver_on_the_way(org: Org, base_url: str) -> str:
    """A link whose page has everything: ETA, driver, map with both markers."""
    route = await on_route(org, [HOME])

    async def ready() -> bool:
        view = await tracking_view(base_url, route.tokens[0])
        return bool(view["eta"] and view["driver_position"])

    await drive_until(org.driver, south_of(HOME, 1200), ready)
    return route.tokens[0]


async def test_first_view_under_a_second_and_the_page_under_300_kb(
    org: Org, browser: Browser, base_url: str
) -> None:
    token = await driver_on_the_way(org, base_url)
    url = f"{base_url}/t/{token}"
    async with httpx.AsyncClient() as warm:  # a running server, not one importing its code
        assert (await warm.get(url)).status_code == 200
        assert (await warm.get(f"{base_url}/api/v1/track/{token}")).status_code == 200
    context = await phone_context(browser, NARROW)  # a new visitor: nothing cached
    page = await context.new_page()
    requests: list[Request] = []
    page.on("requestfinished", lambda request: requests.append(request))
    try:
        started = time.perf_counter()
        await page.goto(url)
        await expect(page.locator("#eta")).to_contain_text("Arriving in", timeout=5_000)
        seen_after_s = time.perf_counter() - started
        first_view_ms: float = await page.evaluate(
            "performance.getEntriesByName('first-view')[0].startTime"
        )
        await expect(page.locator(".pin--driver")).to_be_visible()
        await page.wait_for_load_state("networkidle")

        counted = [r for r in requests if "/tiles/" not in r.url]
        transferred = decoded = 0
        for request in counted:
            sizes = await request.sizes()
            transferred += sizes["responseBodySize"] + sizes["responseHeadersSize"]
            response = await request.response()
            decoded += len(await response.body()) if response else 0
    finally:
        await context.close()
    figures = {
        "first_view_ms_from_navigation": round(first_view_ms),
        "eta_seen_after_s_from_goto": round(seen_after_s, 3),
        "requests": len(counted),
        "transferred_bytes": transferred,
        "decoded_bytes": decoded,
    }
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(
        (ARTIFACTS / "first-view.json").write_text, json.dumps(figures, indent=2) + "\n"
    )
    assert first_view_ms < FIRST_VIEW_S * 1000, figures
    assert seen_after_s < FIRST_VIEW_S, figures
    assert transferred < PAGE_BYTES, figures
    assert decoded < PAGE_BYTES, figures  # even without compression


async def test_usable_at_360_px_wide(org: Org, browser: Browser, base_url: str) -> None:
    order = await new_order(org)
    context = await phone_context(browser, NARROW)
    page = await context.new_page()
    try:
        await open_link(org, page, base_url, order["id"])
        await expect(page.get_by_role("status")).to_have_text("Order received")
        await expect(page.locator(".pin--home")).to_be_visible()
        await page.get_by_role("button", name="Change instructions").click()
        await page.get_by_role("button", name="Choose another time").click()
        await expect(page.get_by_label("New delivery time")).to_be_visible()
        await snapshot(page, "12-at-360-px")

        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= NARROW["width"], f"the page scrolls sideways: {width} px"
        for control in await page.locator("button:visible, input:visible, select:visible").all():
            box = await control.bounding_box()
            assert box is not None
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= NARROW["width"]
    finally:
        await context.close()


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    script = (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
    await page.evaluate(script)
    options = json.dumps({"runOnly": {"type": "tag", "values": AXE_TAGS}})
    results: dict[str, Any] = await page.evaluate(f"axe.run(document, {options})")
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["html"] for n in v["nodes"]]}
        for v in results["violations"]
    ]


async def test_no_accessibility_violations_in_the_main_states(
    org: Org, page: Page, base_url: str
) -> None:
    token = await driver_on_the_way(org, base_url)
    await page.goto(f"{base_url}/t/{token}")
    await expect(page.locator(".pin--driver")).to_be_visible()
    await expect(page.locator("#map-notice")).to_be_visible()
    await page.get_by_role("button", name="Change instructions").click()
    assert await axe_violations(page) == []

    shown = await org.admin.patch("/api/v1/organization", json={"show_proof_photo": True})
    assert shown.status_code == 200, shown.text
    delivered = await en_route_order(org)
    assert (await send_pod(org.driver, delivered, recipient_name="Rita")).status_code == 201
    await open_link(org, page, base_url, delivered)
    await expect(page.locator("#rating-form")).to_be_visible()
    assert await axe_violations(page) == []

    await page.goto(f"{base_url}/t/not-a-token")
    await expect(page.get_by_role("alert")).to_be_visible()
    assert await axe_violations(page) == []


async def test_the_map_notice_does_not_move_what_is_below_the_map(
    org: Org, page: Page, base_url: str
) -> None:
    """The notice comes when the tiles fail, seconds after the page: a button that jumped
    then would make a customer (and a test, once) tap beside it."""
    token = await driver_on_the_way(org, base_url)
    await page.goto(f"{base_url}/t/{token}")
    notice = page.locator("#map-notice")
    await expect(notice).to_be_visible()  # tiles cannot load here
    button = page.get_by_role("button", name="Change instructions")
    with_notice = await button.bounding_box()
    await notice.evaluate("el => { el.hidden = true; }")
    without = await button.bounding_box()
    assert with_notice is not None
    assert without is not None
    assert with_notice["y"] == without["y"]
    # Over the map, leaving its attribution (ODbL) and zoom buttons uncovered.
    await notice.evaluate("el => { el.hidden = false; }")
    box, map_box = await notice.bounding_box(), await page.locator("#map").bounding_box()
    credit = await page.locator(".leaflet-control-attribution").bounding_box()
    zoom = await page.locator(".leaflet-control-zoom").bounding_box()
    assert box is not None
    assert map_box is not None
    assert credit is not None
    assert zoom is not None
    assert map_box["y"] <= box["y"]
    assert box["y"] + box["height"] <= map_box["y"] + map_box["height"]
    assert box["y"] + box["height"] <= credit["y"]
    assert box["x"] >= zoom["x"] + zoom["width"]
    await button.click()
    await expect(page.locator("#instructions-form")).to_be_visible()


async def test_brand_colour_logo_and_name_head_the_page(
    org: Org, page: Page, base_url: str
) -> None:
    logo = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
        '<rect width="40" height="20" fill="#222"/></svg>'
    )

    async def serve_logo(route: Route) -> None:
        await route.fulfill(body=logo, content_type="image/svg+xml")

    await page.route("https://shop.example/logo.svg", serve_logo)
    branded = await org.admin.patch(
        "/api/v1/organization",
        json={"brand_colour": "#FFD400", "logo_url": "https://shop.example/logo.svg"},
    )
    assert branded.status_code == 200, branded.text
    order = await new_order(org)
    await open_link(org, page, base_url, order["id"])

    header = page.locator("#brand")
    await expect(header).to_have_css("background-color", "rgb(255, 212, 0)")
    await expect(header).to_have_css("color", "rgb(0, 0, 0)")  # black reads on yellow
    await expect(page.locator("#brand-logo")).to_be_visible()
    name = (await org.admin.get("/api/v1/organization")).json()["name"]
    await expect(page.locator("#brand-name")).to_have_text(name)
    save = page.get_by_role("button", name="Choose another time")
    await expect(save).to_be_visible()
    await page.get_by_role("button", name="Change instructions").click()
    button = page.get_by_role("button", name="Save instructions")
    await expect(button).to_have_css("background-color", "rgb(255, 212, 0)")
    await expect(button).to_have_css("color", "rgb(0, 0, 0)")
    assert name in await page.title()


def tile_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), "#cfe8c4").save(out, "PNG")
    return out.getvalue()


async def test_the_map_draws_its_tiles_when_they_load(org: Org, page: Page, base_url: str) -> None:
    tile = tile_png()
    asked: list[str] = []

    async def serve_tile(route: Route) -> None:  # this server has no region to draw
        asked.append(route.request.url)
        await route.fulfill(body=tile, content_type="image/png")

    await page.route("**/tiles/**", serve_tile)
    order = await new_order(org)
    await open_link(org, page, base_url, order["id"])

    await expect(page.locator("#map .leaflet-tile-loaded").first).to_be_visible()
    await expect(page.locator("#map-notice")).to_be_hidden()
    await expect(page.locator(".pin--home")).to_be_visible()
    await expect(page.locator(".leaflet-control-attribution")).to_contain_text("OpenStreetMap")
    assert asked
    assert all("/tiles/" in url and url.endswith(".png") for url in asked)


async def test_eta_and_other_wording(page: Page, base_url: str) -> None:
    """The pure formatting module, called in the page's own browser (en-GB, UTC)."""
    # A page of the tracking page's own origin and policy (the API's forbids scripts).
    await page.goto(f"{base_url}/t/no-such-link")
    module = "await import('/track-assets/format.js')"

    async def call(expression: str) -> Any:
        return await page.evaluate(f"async () => {{ const f = {module}; return {expression}; }}")

    view = {
        "status": "en_route",
        "eta": "2026-03-02T14:32:00Z",
        "eta_window_start": "2026-03-02T14:32:00Z",
        "eta_window_end": "2026-03-02T14:40:00Z",
    }
    now = "Date.parse('2026-03-02T14:25:00Z')"
    eta = f"f.etaText({json.dumps(view)}, {now})"
    assert await call(eta) == "Arriving in 7 min, 14:32\N{EN DASH}14:40"
    later = {**view, "eta": "2026-03-02T15:30:00Z"}
    assert (await call(f"f.etaText({json.dumps(later)}, {now})")).startswith(
        "Arriving in 1 h 5 min, "
    )
    late = {**view, "eta": "2026-03-02T14:20:00Z"}
    assert (await call(f"f.etaText({json.dumps(late)}, {now})")).startswith(
        "Arriving any minute now"
    )
    no_range = {"status": "arriving", "eta": "2026-03-02T14:32:00Z"}
    assert await call(f"f.etaText({json.dumps(no_range)}, {now})") == "Arriving in 7 min, 14:32"
    for gone in ({**view, "status": "delivered"}, {**view, "eta": None}):
        assert await call(f"f.etaText({json.dumps(gone)}, {now})") is None
    tomorrow = {**view, "eta": "2026-03-03T09:10:00Z"}
    assert (await call(f"f.etaText({json.dumps(tomorrow)}, {now})")).startswith(
        "Arriving Tomorrow, "
    )

    assert await call("[0, 1, 3, null].map(f.stopsBeforeText)") == [
        "You are the driver's next stop",
        "Your driver has 1 stop before you",
        "Your driver has 3 stops before you",
        None,
    ]
    assert (
        await call(f"f.windowText('2026-03-03T09:00:00Z', '2026-03-03T11:00:00Z', {now})")
        == "Tomorrow, 09:00\N{EN DASH}11:00"
    )
    assert await call("f.sentence('the link has expired')") == "The link has expired."

    # The form starts from what is stored: the inverse of the backend's wording.
    cases = [
        (InstructionOption.LEAVE_AT_DOOR, ""),
        (InstructionOption.LEAVE_AT_DOOR, "behind the plant pot"),
        (InstructionOption.WITH_NEIGHBOUR, "Mme Rossi, door 4"),
        (InstructionOption.GATE_CODE, "4821B"),
        (InstructionOption.NOTE, "Ring twice, parcel box by the gate"),
        (InstructionOption.NONE, ""),
    ]
    for option, text in cases:
        stored = instruction_text(option, text)
        parsed = await call(f"f.parseInstructions({json.dumps(stored)})")
        assert parsed == {"option": option.value, "text": text}, stored


async def test_the_tracking_link_is_all_a_customer_needs(org: Org, base_url: str) -> None:
    """The page's files come from this backend, compressed and cacheable."""
    order = await new_order(org)
    token = await link_for(org, order["id"])
    async with httpx.AsyncClient(base_url=base_url) as client:
        page = await client.get(f"/t/{token}")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        leaflet = await client.get("/track-assets/vendor/leaflet/leaflet.js")
        assert leaflet.status_code == 200
        assert leaflet.headers["content-encoding"] == "gzip"
        assert "max-age" in leaflet.headers["cache-control"]
        assert "Leaflet 1.9.3" in leaflet.text[:200]
        own = await client.get("/track-assets/track.js")
        assert own.status_code == 200
        assert own.headers["cache-control"] == "no-cache"
        assert "javascript" in own.headers["content-type"]
