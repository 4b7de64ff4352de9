"""Links that show no order: expired (while the page is open, and on a new visit) and a
visitor refused for guessing tokens. Each says so plainly, and shows nothing of the order."""

import re
import secrets
from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.backend.pod.test_pod_api import en_route_order
from tests.conftest import make_settings
from tests.customer_web.pages import move, open_link, snapshot
from tests.factories import Org
from tests.live_server import run_server

pytestmark = pytest.mark.browser

GUESSES_PER_MIN = 3  # few, so one allowance takes 20 s to come back: no race with the clock


@pytest.fixture(scope="module")
def guarded_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of its own: running out of guesses blocks every look-up from 127.0.0.1."""
    settings = make_settings(
        tmp_path_factory.mktemp("guarded"), tracking_guesses_per_min=GUESSES_PER_MIN
    )
    with run_server(settings) as url:
        yield url


async def test_a_link_that_expires_while_open_and_on_the_next_visit(
    org: Org, page: Page, base_url: str
) -> None:
    hours = await org.admin.patch("/api/v1/organization", json={"tracking_hours_after_delivery": 0})
    assert hours.status_code == 200, hours.text
    order_id = await en_route_order(org)
    await open_link(org, page, base_url, order_id)
    await expect(page.get_by_role("status")).to_have_text("On its way")

    await move(org.driver, order_id, "delivered")  # the link ends with the delivery

    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("This tracking link has expired")
    await expect(alert).to_contain_text("Ask the sender for a new one.")
    await expect(page.get_by_role("status")).to_have_text("Tracking unavailable")
    await expect(page.locator("#details")).to_be_hidden()
    await expect(page.locator("#connection")).to_be_hidden()
    await snapshot(page, "10-expired")

    await page.reload()
    await expect(alert).to_contain_text("This tracking link has expired")
    await expect(page.locator("#details")).to_be_hidden()
    assert "Rita" not in await page.content()


async def test_a_visitor_guessing_tokens_is_told_to_wait(page: Page, guarded_url: str) -> None:
    async with httpx.AsyncClient(base_url=guarded_url) as guesser:
        for _ in range(GUESSES_PER_MIN - 1):
            response = await guesser.get(f"/api/v1/track/{secrets.token_urlsafe(24)}")
            assert response.status_code == 404
    await page.goto(f"{guarded_url}/t/{secrets.token_urlsafe(24)}")
    await expect(page.get_by_role("alert")).to_contain_text("This tracking link does not exist")

    await page.goto(f"{guarded_url}/t/{secrets.token_urlsafe(24)}")

    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("Too many attempts")
    await expect(page.locator("#error-message")).to_have_text(
        "Too many unknown tracking links were tried from your network."
    )
    await expect(page.locator("#error-retry")).to_have_text(
        re.compile(r"^This page tries again in \d+ s\.$")
    )
    await expect(page.locator("#error")).to_have_attribute("data-code", "too_many_guesses")
    await expect(page.get_by_role("status")).to_have_text("Tracking unavailable")
    await snapshot(page, "11-too-many-guesses")
