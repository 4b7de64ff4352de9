"""The driver's map in a real browser: the day's stops numbered on the tiles the server
names, the data's credit under them, and still the stops when no tile loads."""

import asyncio
import io
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.async_api import Request, Response, Route, expect

from backend.regions.importer import import_region
from tests.browser import CHROMIUM, FletPage, open_in_chromium, serve_app
from tests.conftest import make_settings, require_tool
from tests.driver_app.routes import plan_route
from tests.factories import PASSWORD, assign, create_order, create_org_with_users, login
from tests.live_server import run_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "driver"
MONACO_PBF = Path(__file__).resolve().parents[2] / "regions" / "monaco.osm.pbf"
PLAIN = (0xEC, 0xEF, 0xF1)  # the map's own background (BLUE_GREY_50), under any tile
CASINO = {"lat": 43.7396, "lng": 7.4277}
PORT_HERCULE = {"lat": 43.7347, "lng": 7.4216}


@asynccontextmanager
async def a_day_on(data_dir: Path, **settings: Any) -> AsyncIterator[tuple[str, str]]:
    """A backend on ``data_dir`` with ``settings``, and a driver with two stops planned
    today (the casino, then the port); yields the backend's URL and the driver's email."""
    config = make_settings(data_dir, **settings)
    with run_server(config) as api:
        _, _, emails, driver_ids = await create_org_with_users(config)
        async with await login(api, emails["dispatcher"]) as dispatcher:
            orders = []
            for n, place in enumerate((CASINO, PORT_HERCULE), start=1):
                order = await create_order(
                    dispatcher,
                    dropoff={"address": f"{n} Stop, Monaco", **place, "service_time_s": 120},
                )
                orders.append(await assign(dispatcher, order["id"], driver_ids[0]))
            await plan_route(dispatcher, driver_ids[0], date.today(), orders)
        yield api, emails["driver"]


async def sign_in_and_open_the_map(ui: FletPage, email: str) -> None:
    await ui.sign_in(email, PASSWORD)
    await expect(ui.by_id("stop-row")).to_have_count(2)
    await ui.click("show-map")
    await expect(ui.by_id("route-map")).to_be_visible()


async def until(found: Callable[[], list[Any]], what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not found():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        await asyncio.sleep(0.1)


async def plain_share(ui: FletPage) -> float:
    """How much of the map is its bare background: little once tiles paint on it."""
    image = Image.open(io.BytesIO(await ui.by_id("route-map").screenshot())).convert("RGB")
    red, green, blue = (band.tobytes() for band in image.split())
    plain = sum(
        1
        for pixel in zip(red, green, blue, strict=True)
        if max(abs(a - b) for a, b in zip(pixel, PLAIN, strict=True)) <= 3
    )
    return plain / len(red)


@pytest.mark.browser
@pytest.mark.timeout(180)
async def test_the_map_shows_the_day_on_this_servers_tiles(tmp_path: Path) -> None:
    require_tool(CHROMIUM, "Chromium")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    data_dir = tmp_path / "data"
    import_region(MONACO_PBF, data_dir / "regions")  # its tiles and its roads

    async with (
        a_day_on(data_dir) as (api, email),
        serve_app("driver_app", api, tmp_path / "driver_app.log") as url,
        open_in_chromium(url) as ui,
    ):
        # Flutter fetches the tiles from the browser: watch what it asks and gets.
        asked: list[Request] = []
        tiles: list[Response] = []
        ui.page.on("request", lambda r: asked.append(r) if "/tiles/" in r.url else None)
        ui.page.on("response", lambda r: tiles.append(r) if "/tiles/" in r.url else None)
        await sign_in_and_open_the_map(ui, email)

        stops = ui.by_id("map-stop")
        await expect(stops).to_have_count(2)
        await expect(stops.nth(0)).to_contain_text("1")
        await expect(stops.nth(1)).to_contain_text("2")
        await expect(ui.page.get_by_text("OpenStreetMap contributors")).to_be_visible()
        await expect(ui.page.get_by_text("The line follows the roads.")).to_be_visible()

        await until(lambda: asked, "the map asked this server for no tiles", 30)
        assert all(t.url.startswith(f"{api}/tiles/") for t in asked), [t.url for t in asked]
        # The server renders a tile on first ask: slow on a busy machine.
        await until(lambda: [t for t in tiles if t.status == 200], "no tile came back", 60)
        assert all(t.status == 200 for t in tiles), [(t.url, t.status) for t in tiles]
        # The tiles paint a moment after they arrive (longer on a busy machine).
        deadline = time.monotonic() + 20
        while (share := await plain_share(ui)) >= 0.2 and time.monotonic() < deadline:
            await ui.page.wait_for_timeout(500)
        await ui.page.screenshot(path=ARTIFACTS / "route-map.png")
        assert share < 0.2, "the tiles did not paint"

        # Back to the list.
        await ui.click("show-map")
        await expect(ui.by_id("route-map")).to_have_count(0)
        await expect(ui.by_id("stop-row")).to_have_count(2)


@pytest.mark.browser
@pytest.mark.timeout(180)
async def test_tiles_come_from_the_configured_server_and_the_stops_show_without_them(
    tmp_path: Path,
) -> None:
    require_tool(CHROMIUM, "Chromium")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    elsewhere = "http://tiles.unreachable.test"

    async with (
        a_day_on(
            tmp_path / "data",
            tile_url=elsewhere + "/{z}/{x}/{y}.png",
            tile_attribution="© Example Tiles",
        ) as (api, email),
        serve_app("driver_app", api, tmp_path / "driver_app.log") as url,
        open_in_chromium(url) as ui,
    ):
        asked: list[Request] = []

        async def no_signal(route: Route) -> None:
            asked.append(route.request)
            await route.abort("internetdisconnected")

        await ui.page.context.route(f"{elsewhere}/**", no_signal)
        await sign_in_and_open_the_map(ui, email)

        await until(lambda: asked, "the map did not ask the configured tile server")
        await expect(ui.by_id("map-stop")).to_have_count(2)
        await expect(ui.page.get_by_text("Example Tiles")).to_be_visible()
        # No road network here: the stops joined by straight lines, and said so.
        await expect(ui.page.get_by_text("Straight lines between stops")).to_be_visible()
        await ui.page.wait_for_timeout(1000)
        await ui.page.screenshot(path=ARTIFACTS / "route-map-no-tiles.png")
        assert await plain_share(ui) > 0.8  # a plain background, the stops and line on it
