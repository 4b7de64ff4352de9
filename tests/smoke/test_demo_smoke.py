"""The README's run command, exactly as written, brings up the whole platform with demo data.

Started from the repository's root with a fresh data directory, it prints its URLs and the
logins; each interface then shows real demo data in headless Chromium: the dispatcher's
orders and drivers, driver1's stops, the customer's tracking page with its order and map.
A screenshot of each goes to test-artifacts/demo/; with ``LASTMILE_UPDATE_SCREENSHOTS=1``
also to docs/screenshots/, the pictures README.md shows. Ctrl-C then stops everything.
"""

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect

from shared.enums import OrderStatus
from tests.browser import CHROMIUM, CHROMIUM_ARGS, ROOT, open_in_chromium
from tests.conftest import require_tool, sqlite_only
from tests.live_server import free_port
from tests.smoke.demo_process import DemoOutput, DemoRun, readme_run_command

ARTIFACTS = ROOT / "test-artifacts" / "demo"
DOCS = ROOT / "docs" / "screenshots"
DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=412, height=915)
MONACO = {"latitude": 43.7384, "longitude": 7.4246}
# Optimising the demo's day may take a minute on a loaded box before the URLs are printed.
PRINTED_WITHIN_S = 180
SERVING_WITHIN_S = 60
STOPPED_WITHIN_S = 20
UI_WAIT_MS = 60_000


def demo_options() -> list[str]:
    """``--speed 20`` where ``lastmile demo`` has it (its simulated drivers move faster)."""
    help_text = subprocess.run(
        [str(Path(sys.executable).with_name("lastmile")), "demo", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    ).stdout
    return ["--speed", "20"] if "--speed" in help_text else []


def keep(png: bytes, name: str) -> None:
    """A screenshot, as an artifact and, when asked, for README.md."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.png").write_bytes(png)
    if os.environ.get("LASTMILE_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        (DOCS / f"{name}.png").write_bytes(png)


async def screenshot(page: Page) -> bytes:
    await page.wait_for_timeout(600)  # a canvas paints a moment after its semantics
    return await page.screenshot(animations="disabled")


async def check_dispatcher(printed: DemoOutput) -> None:
    async with open_in_chromium(printed.url("dispatcher"), viewport=DESKTOP) as ui:
        await ui.sign_in(printed.logins["dispatcher"], printed.password)
        await ui.click("nav-orders")
        rows = ui.by_id("order-row")
        await expect(rows.first).to_contain_text("DEMO-", timeout=UI_WAIT_MS)
        await expect(ui.by_id("orders-count")).to_have_text(re.compile(r"Showing [1-9]\d* of"))
        await expect(ui.by_id("driver-row").first).to_be_visible()
        await asyncio.to_thread(keep, await screenshot(ui.page), "dispatcher")


async def check_driver(printed: DemoOutput) -> None:
    async with open_in_chromium(
        printed.url("driver"),
        viewport=PHONE,
        geolocation=MONACO,
        permissions=["geolocation"],
    ) as ui:
        await ui.sign_in(printed.logins["driver"], printed.password)
        await expect(ui.by_id("stop-row").first).to_be_visible(timeout=UI_WAIT_MS)
        # The next stop's card is named for what it says: its address and time window.
        next_stop = re.compile(r"NEXT STOP .+ \d\d:\d\d\u2013\d\d:\d\d")
        await expect(ui.page.get_by_role("group", name=next_stop)).to_be_visible()
        await expect(ui.by_id("no-stops")).to_have_count(0)
        await asyncio.to_thread(keep, await screenshot(ui.page), "driver")


# The map waits for the address pin and a tile; a finished order's page has no map.
MAP_OR_FINISHED = """() => document.getElementById("map-section").hidden
    || (document.querySelector("#map .pin--home") !== null
        && document.querySelector("#map .leaflet-tile-loaded") !== null)"""


def liveliness(view: dict[str, Any], map_shown: bool) -> tuple[bool, bool, bool, int]:
    """Which page to picture: a map with the driver on it beats a driver on the way beats
    an order waiting for one."""
    moving = view["status"] in (OrderStatus.EN_ROUTE, OrderStatus.ARRIVING)
    return (map_shown, view["driver_position"] is not None, moving, len(view["timeline"]))


async def check_tracking(browser: Browser, printed: DemoOutput) -> None:
    """Every printed tracking link shows its order as the server has it; the liveliest one,
    a map with the address (the demo's drivers may deliver the others meanwhile)."""
    pictures: list[tuple[tuple[bool, bool, bool, int], bytes]] = []
    async with httpx.AsyncClient(base_url=printed.url("backend")) as customer:
        for url in printed.urls["track"]:
            token = url.rsplit("/t/", 1)[1]
            context = await browser.new_context(
                viewport=PHONE, is_mobile=True, has_touch=True, locale="en-GB"
            )
            try:
                page = await context.new_page()
                await page.goto(url)
                view = (await customer.get(f"/api/v1/track/{token}")).json()
                assert view["order_reference"].startswith("DEMO-"), view
                title = page.locator("#title")
                await expect(title).to_have_text(f"Delivery {view['order_reference']}")
                await expect(page.get_by_role("status")).not_to_be_empty()
                await expect(page.locator("#address")).to_have_text(view["address"])
                await expect(page.locator("#error")).to_be_hidden()
                await page.wait_for_function(MAP_OR_FINISHED, timeout=UI_WAIT_MS)
                map_shown = await page.locator("#map .pin--home").is_visible()
                if map_shown:
                    await page.wait_for_load_state("networkidle")  # every map tile in
                view = (await customer.get(f"/api/v1/track/{token}")).json()
                pictures.append((liveliness(view, map_shown), await screenshot(page)))
            finally:
                await context.close()
    rank, png = max(pictures, key=lambda picture: picture[0])
    assert rank[0], "no tracking page showed its map"
    await asyncio.to_thread(keep, png, "tracking")


async def check_every_interface(printed: DemoOutput) -> None:
    # The tracking links are the next stops of the demo's moving drivers: first, while the
    # orders are on their way.
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            await check_tracking(browser, printed)
        finally:
            await browser.close()
    await check_dispatcher(printed)
    await check_driver(printed)


async def answers(url: str) -> bool:
    async with httpx.AsyncClient(timeout=2) as http:
        try:
            await http.get(url)
        except httpx.TransportError:
            return False
        return True


@pytest.mark.browser
@sqlite_only("the demo keeps its own SQLite file in its data directory")
@pytest.mark.timeout(400)
async def test_the_readme_run_command_serves_every_interface_with_demo_data(
    tmp_path: Path,
) -> None:
    require_tool(CHROMIUM, "Chromium")
    command = [*readme_run_command(), "--port", str(free_port()), *demo_options()]
    run = DemoRun(command, ROOT, tmp_path / "data", tmp_path / "run.log")
    try:
        printed = await asyncio.to_thread(run.wait_for_output, PRINTED_WITHIN_S)
        backend = printed.url("backend")
        pages = [printed.url("dispatcher"), printed.url("driver"), *printed.urls["track"]]
        await asyncio.to_thread(
            run.wait_until_serving, [f"{backend}/health", *pages], SERVING_WITHIN_S
        )

        await check_every_interface(printed)

        code = await asyncio.to_thread(run.interrupt, STOPPED_WITHIN_S)
        assert code == 0, f"Ctrl-C ended the run with {code}:\n{run.tail()}"
        for url in (backend, printed.url("dispatcher"), printed.url("driver")):
            assert not await answers(url), f"{url} still answers after Ctrl-C"
    finally:
        run.kill()
        await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(shutil.copyfile, run.log, ARTIFACTS / "run.log")
