"""Fixtures for the tracking page: one Chromium for the package, a phone-sized page per test
with a fake clock (a test runs the page's 30 s refresh at once)."""

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import require_tool
from tests.customer_web.pages import PHONE, phone_context


@pytest.fixture(scope="session")
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
    context = await phone_context(browser, PHONE)
    page = await context.new_page()
    page.on("request", lambda request: seen_urls.append(request.url))
    await page.clock.install()
    yield page
    await context.close()
