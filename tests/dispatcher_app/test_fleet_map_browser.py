"""The live map in a real browser: drivers sending fixes move on the dispatcher's map, and
a click on one opens their card with the route's stops."""

import asyncio
import contextlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from tests.browser import CHROMIUM, FletPage, open_in_chromium, serve_app
from tests.conftest import require_tool
from tests.factories import PASSWORD, Org, assign, create_order

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dispatcher"


async def drive(clients: list[httpx.AsyncClient], stop: asyncio.Event) -> None:
    """Each driver heads east from their own start, a fix every half second."""
    start = datetime.now(UTC)
    step = 0
    while not stop.is_set():
        for n, client in enumerate(clients):
            fix = {
                "lat": 43.735 + n * 0.004,
                "lng": 7.415 + step * 0.0006,
                "recorded_at": (start + timedelta(seconds=step)).isoformat(),
                "heading_deg": 90,
                "speed_mps": 10,
            }
            response = await client.post("/api/v1/drivers/me/locations", json={"fixes": [fix]})
            assert response.status_code == 200, response.text
        step += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


async def boxes(ui: FletPage) -> list[tuple[float, float]]:
    markers = ui.by_id("map-driver")
    out = []
    for i in range(await markers.count()):
        box = await markers.nth(i).bounding_box()
        assert box is not None
        out.append((box["x"], box["y"]))
    return sorted(out, key=lambda b: b[1])


@pytest.mark.browser
@pytest.mark.timeout(180)
async def test_drivers_move_on_the_map_and_a_click_opens_their_card(
    org: Org, base_url: str, tmp_path: Path
) -> None:
    require_tool(CHROMIUM, "Chromium")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    orders = []
    for lng in (7.420, 7.425):
        order = await create_order(
            org.dispatcher,
            dropoff={"address": f"{lng} Rue, Monaco", "lat": 43.737, "lng": lng},
        )
        orders.append(await assign(org.dispatcher, order["id"], org.driver_ids[0]))
    route = await org.dispatcher.post(
        "/api/v1/routes",
        json={
            "driver_id": org.driver_ids[0],
            "service_date": date.today().isoformat(),
            "stops": [{"stop_id": o["stops"][0]["id"]} for o in orders],
        },
    )
    assert route.status_code == 201, route.text

    stop = asyncio.Event()
    driving = asyncio.create_task(drive([org.driver, org.driver2], stop))
    try:
        async with (
            serve_app("dispatcher_app", base_url, tmp_path / "dispatcher_app.log") as url,
            open_in_chromium(url) as ui,
        ):
            await ui.sign_in(org.emails["dispatcher"], PASSWORD)
            await ui.click("nav-map")
            await expect(ui.by_id("fleet-map")).to_be_visible()
            await expect(ui.by_id("map-driver")).to_have_count(2, timeout=15_000)
            await expect(ui.by_id("map-updated")).to_contain_text("2 drivers")

            before = await boxes(ui)
            await ui.page.wait_for_timeout(3000)
            after = await boxes(ui)
            assert len(after) == 2
            # heading east: both markers further right, at the same height
            for (x0, y0), (x1, y1) in zip(before, after, strict=True):
                assert x1 > x0 + 2, (before, after)
                assert abs(y1 - y0) < 2, (before, after)

            stop.set()
            await driving
            await ui.page.wait_for_timeout(600)
            # Dora (the first driver) is the southern one: the lower marker on screen.
            markers = ui.by_id("map-driver")
            heights = [(await markers.nth(i).bounding_box() or {"y": 0})["y"] for i in range(2)]
            await markers.nth(heights.index(max(heights))).click()
            card = ui.by_id("driver-card")
            await expect(card).to_contain_text("Dora Driver")
            await expect(ui.by_id("driver-card-stop")).to_have_count(2)
            await expect(ui.by_id("driver-card-stop").nth(0)).to_contain_text("7.42 Rue")
            await expect(ui.by_id("map-stop")).to_have_count(2)
            await ui.page.wait_for_timeout(800)  # let the card paint for the screenshot
            await ui.page.screenshot(path=ARTIFACTS / "map.png")

            # A stop shows its order in the card, and from there the orders grid finds it.
            await ui.by_id("driver-card-stop").nth(1).click()
            await expect(ui.by_id("stop-open-orders")).to_be_visible()
            await expect(ui.by_id("driver-card-stop")).to_have_count(0)
            await ui.click("stop-open-orders")
            rows = ui.by_id("order-row")
            await expect(rows).to_have_count(1)
            await expect(rows.first).to_contain_text(orders[1]["reference"])
    finally:
        stop.set()
        with contextlib.suppress(AssertionError):
            await driving
