"""The driver app in a real browser with its network cut and restored, its GPS emulated by
Chromium, and its session kept across a reload."""

from datetime import date
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.backend.locations.test_fanout_sockets import access_token, frames_until, live, ws_url
from tests.browser import CHROMIUM, open_in_chromium, serve_app
from tests.conftest import require_tool
from tests.driver_app.routes import assigned_orders, plan_route
from tests.factories import PASSWORD, Org
from tests.link import link_to

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "driver"
MONACO_PORT = {"latitude": 43.7350, "longitude": 7.4215, "accuracy": 8}


@pytest.mark.browser
@pytest.mark.timeout(180)
async def test_gps_reaches_dispatch_the_session_survives_a_reload_and_no_signal_is_said(
    org: Org, base_url: str, tmp_path: Path
) -> None:
    require_tool(CHROMIUM, "Chromium")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    orders = await assigned_orders(org.dispatcher, org.driver_ids[0], 2)
    await plan_route(org.dispatcher, org.driver_ids[0], date.today(), orders)
    fleet_url = ws_url(base_url, f"/api/v1/fleet/ws?token={await access_token(org.dispatcher)}")

    async with (
        link_to(base_url) as link,
        serve_app("driver_app", link.url, tmp_path / "driver_app.log") as url,
        open_in_chromium(url, geolocation=MONACO_PORT, permissions=["geolocation"]) as ui,
        live(fleet_url) as fleet,
    ):
        await ui.sign_in(org.emails["driver"], PASSWORD)
        await expect(ui.by_id("stop-row")).to_have_count(2)
        await expect(ui.by_id("gps-status")).to_contain_text("off shift")
        await expect(ui.by_id("sync-done")).to_be_visible()

        # The map of the day: its tiles from the backend (through the app's server URL,
        # fetched by the browser), both stops numbered on it.
        tiles: list[str] = []
        ui.page.on("request", lambda r: tiles.append(r.url) if "/tiles/" in r.url else None)
        await ui.click("show-map")
        await expect(ui.by_id("route-map")).to_be_visible()
        await expect(ui.by_id("map-stop")).to_have_count(2)
        for _ in range(100):
            if tiles:
                break
            await ui.page.wait_for_timeout(100)
        assert tiles, "the map asked for no tiles"
        assert all(t.startswith(link.url + "/tiles/") for t in tiles)
        await ui.page.wait_for_timeout(1500)  # let the tiles paint for the screenshot
        await ui.page.screenshot(path=ARTIFACTS / "map.png")
        await ui.click("show-map")
        await expect(ui.by_id("stop-row")).to_have_count(2)

        # On shift: the browser's position goes to the dispatcher's live map.
        await ui.page.get_by_role("button", name="On shift").click()
        await expect(ui.by_id("gps-status")).to_contain_text("Sharing your position")
        frame = await frames_until(
            fleet,
            "positions",
            30,
            lambda f: any(p["driver_id"] == org.driver_ids[0] for p in f["positions"]),
        )
        mine = next(p for p in frame["positions"] if p["driver_id"] == org.driver_ids[0])
        assert (round(mine["lat"], 4), round(mine["lng"], 4)) == (43.7350, 7.4215)
        await ui.page.screenshot(path=ARTIFACTS / "today.png")

        # No signal: the app says so and keeps working.
        link.cut()
        await expect(ui.by_id("live-offline")).to_be_visible(timeout=30_000)
        await expect(ui.by_id("sync-offline")).to_contain_text("saved on this phone")
        await expect(ui.by_id("sync-done")).to_have_count(0)
        await ui.page.wait_for_timeout(3000)
        await ui.page.screenshot(path=ARTIFACTS / "no-signal.png")
        link.restore()
        await expect(ui.by_id("live-offline")).to_have_count(0, timeout=45_000)
        await expect(ui.by_id("sync-offline")).to_have_count(0)

        # Closed and opened again: still signed in, no password asked.
        await ui.page.reload()
        placeholder = ui.page.locator("flt-semantics-placeholder")
        await placeholder.wait_for(state="attached")
        await placeholder.dispatch_event("click")
        await expect(ui.by_id("stop-row")).to_have_count(2)
        await expect(ui.by_id("login-email")).to_have_count(0)

        # Signing out forgets the session: the next opening asks for the password.
        await ui.click("logout")
        await expect(ui.by_id("login-email")).to_be_visible()
        await ui.page.reload()
        placeholder = ui.page.locator("flt-semantics-placeholder")
        await placeholder.wait_for(state="attached")
        await placeholder.dispatch_event("click")
        await expect(ui.by_id("login-email")).to_be_visible()
