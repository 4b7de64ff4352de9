"""The API docs render in a real browser from this server alone (no CDN)."""

from urllib.parse import urlsplit

import pytest
from playwright.async_api import async_playwright, expect

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import require_tool

pytestmark = pytest.mark.browser


async def test_docs_page_lists_the_api_using_only_this_server(base_url: str) -> None:
    require_tool(CHROMIUM, "Chromium")
    hosts: set[str] = set()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            page.on("request", lambda request: hosts.add(urlsplit(request.url).hostname or ""))
            await page.goto(f"{base_url}/docs")
            await expect(page.locator(".swagger-ui .title")).to_contain_text("Lastmile")
            await expect(
                page.get_by_text("/api/v1/orders/{order_id}/transitions").first
            ).to_be_visible()
            await expect(page.get_by_role("button", name="Authorize")).to_be_visible()
        finally:
            await browser.close()
    assert hosts == {"127.0.0.1"}
