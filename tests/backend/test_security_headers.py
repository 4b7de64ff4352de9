"""Security headers over real HTTP: on every page the backend serves (tracking page, API
docs), on API answers and static files; HSTS only over https; and the docs pages still
render under their policy in a real browser (no CSP violation)."""

from pathlib import Path

import httpx
import pytest
from playwright.async_api import ConsoleMessage, async_playwright

from tests.backend.world import build_world
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import make_settings, require_tool
from tests.factories import Org
from tests.live_server import run_server

PAGES = ("/docs", "/redoc", "/docs/oauth2-redirect", "/t/{token}")
NOT_PAGES = (
    "/api/v1/auth/me",  # a 401
    "/api/v1/track/{token}",
    "/no-such-page",  # a 404 through the error handler
    "/openapi.json",
    "/health",
    "/track-assets/track.js",
    "/docs-assets/swagger-ui-bundle.js",
)


def _assert_common(response: httpx.Response) -> str:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "Strict-Transport-Security" not in response.headers  # plain http
    return policy


async def test_every_page_and_answer_carries_the_headers(shared_org: Org, base_url: str) -> None:
    token = (await build_world(shared_org)).token
    async with httpx.AsyncClient(base_url=base_url) as web:
        for path in PAGES:
            response = await web.get(path.format(token=token))
            assert response.status_code == 200, path
            assert response.headers["content-type"].startswith("text/html"), path
            policy = _assert_common(response)
            assert "object-src 'none'" in policy, path
            assert "base-uri 'none'" in policy, path
        tracking_page = await web.get(f"/t/{token}")
        assert "script-src 'self';" in tracking_page.headers["Content-Security-Policy"]
        for path in NOT_PAGES:
            response = await web.get(path.format(token=token))
            assert response.status_code in (200, 401, 404), path
            assert "default-src 'none'" in _assert_common(response), path


async def test_hsts_only_over_https(tmp_path: Path, base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as web:
        # Through the trusted local proxy, which terminated TLS.
        secure = await web.get("/health", headers={"X-Forwarded-Proto": "https"})
        assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        assert "Strict-Transport-Security" not in (await web.get("/health")).headers
    with run_server(make_settings(tmp_path, security_hsts=True)) as url:
        async with httpx.AsyncClient(base_url=url) as web:
            always = await web.get("/docs")
        assert always.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.browser
async def test_the_docs_pages_render_under_their_policy(base_url: str) -> None:
    require_tool(CHROMIUM, "Chromium")
    violations: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()

            def on_console(message: ConsoleMessage) -> None:
                if "Content Security Policy" in message.text:
                    violations.append(message.text)

            page.on("console", on_console)
            await page.goto(f"{base_url}/docs")
            await page.locator(".swagger-ui .title").wait_for()
            await page.goto(f"{base_url}/redoc")
            await page.get_by_text("/api/v1/orders/{order_id}/transitions").first.wait_for()
        finally:
            await browser.close()
    # ReDoc's "powered by" logo comes from its CDN: blocked, as this server names no CDN.
    assert [v for v in violations if "cdn.redoc.ly/redoc/logo-mini.svg" not in v] == []
