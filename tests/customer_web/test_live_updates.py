"""Live: the driver drives (fixes through the driver API), the page follows over the tracking
WebSocket; the driver's position only while this customer is their current or next stop; a
blocked socket falls back to Server-Sent Events, and when those are blocked too, to polling
every 30 s with a banner."""

import asyncio
import json
import re
from typing import Any

import pytest
from playwright.async_api import Page, WebSocket, WebSocketRoute, expect

from tests.customer_web.pages import (
    HOME,
    LIVE_MS,
    POLL_MS,
    count_view_reads,
    drive_until,
    eta_minutes,
    move,
    new_order,
    on_route,
    open_link,
    pixels_apart,
    snapshot,
    south_of,
    tracking_view,
    until,
)
from tests.factories import Org, assign

pytestmark = pytest.mark.browser

TRACK_SOCKET = re.compile(r"/api/v1/track/[^/]+/ws$")
TRACK_EVENTS = re.compile(r"/api/v1/track/[^/]+/events$")
# Every state the connection banner takes, in order.
RECORD_STATES = """() => {
  window.states = [];
  const banner = document.getElementById("connection");
  new MutationObserver(() => window.states.push(banner.dataset.state))
    .observe(banner, { attributes: true, attributeFilter: ["data-state"] });
}"""


async def block_event_streams(page: Page) -> None:
    await page.route(TRACK_EVENTS, lambda route: route.abort("connectionrefused"))


ETA_LINE = re.compile(r"^Arriving in \d+ min, \d\d:\d\d" + "\N{EN DASH}" + r"\d\d:\d\d$")
# Every time the driver's marker moves, how far it is from the home pin (CSS pixels).
RECORD_TRAIL = """() => {
  window.trail = [];
  const driver = document.querySelector(".pin--driver");
  const home = document.querySelector(".pin--home");
  const centre = (el) => {
    const r = el.getBoundingClientRect();
    return [r.x + r.width / 2, r.y + r.height / 2];
  };
  new MutationObserver(() => {
    const [a, b] = [centre(driver), centre(home)];
    window.trail.push(Math.hypot(a[0] - b[0], a[1] - b[1]));
  }).observe(driver, { attributes: true, attributeFilter: ["style"] });
}"""


async def test_the_driver_moves_and_the_marker_glides_and_the_eta_counts_down(
    org: Org, page: Page, base_url: str
) -> None:
    route = await on_route(org, [HOME])
    order_id, token = route.orders[0]["id"], route.tokens[0]
    await move(org.driver, order_id, "en_route")
    far, near = south_of(HOME, 1800), south_of(HOME, 350)

    async def has_eta_and_driver() -> bool:
        view = await tracking_view(base_url, token)
        return bool(view["eta"] and view["driver_position"])

    # Fixes recorded a minute ago, 1.8 km away: the next ones (near, now) are a plausible drive.
    await drive_until(org.driver, far, has_eta_and_driver, age_s=60)
    await page.goto(f"{base_url}/t/{token}")

    await expect(page.locator("#eta")).to_have_text(ETA_LINE, timeout=LIVE_MS)
    await expect(page.locator(".pin--driver")).to_be_visible()
    await expect(page.locator(".pin--home")).to_be_visible()
    await expect(page.locator("#stops-before")).to_have_text("You are the driver's next stop")
    await expect(page.locator("#map-caption")).to_contain_text("approximate position")
    # This server has no map tiles (no region imported): the map says so and keeps its markers.
    await expect(page.locator("#map-notice")).to_contain_text("map background is unavailable")
    await snapshot(page, "02-on-the-way")
    minutes_before = await eta_minutes(page)
    assert minutes_before is not None
    assert minutes_before >= 3
    apart_before = await pixels_apart(page, ".pin--driver", ".pin--home")
    await page.evaluate(RECORD_TRAIL)

    async def page_followed() -> bool:
        minutes = await eta_minutes(page)
        apart = await pixels_apart(page, ".pin--driver", ".pin--home")
        return minutes is not None and minutes < minutes_before and apart < apart_before / 2

    await drive_until(org.driver, near, page_followed)

    trail: list[float] = await page.evaluate("window.trail")
    apart_after = await pixels_apart(page, ".pin--driver", ".pin--home")
    between = {round(d) for d in trail if apart_after + 2 < d < apart_before - 2}
    assert len(between) >= 3, f"the marker jumped instead of gliding: {trail}"
    await expect(page.locator("#eta")).to_have_text(re.compile(r"^Arriving (in \d+ min|any)"))
    await snapshot(page, "03-driver-closer")


async def test_no_driver_position_while_they_serve_other_customers(
    org: Org, page: Page, base_url: str
) -> None:
    first, second = south_of(HOME, 900), south_of(HOME, 500)
    route = await on_route(org, [first, second, HOME])
    frames: list[dict[str, Any]] = []

    def listen(socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: frames.append(json.loads(payload)))

    # Before the driver's phone has sent anything, the next customer is told it will come.
    await page.goto(f"{base_url}/t/{route.tokens[0]}")
    await expect(page.locator("#stops-before")).to_have_text("You are the driver's next stop")
    await expect(page.locator("#map-caption")).to_have_text(
        "The driver's position shows here as soon as their phone sends it."
    )
    page.on("websocket", listen)
    start = south_of(HOME, 1500)

    async def first_customer_sees_driver() -> bool:
        return (await tracking_view(base_url, route.tokens[0]))["driver_position"] is not None

    await drive_until(org.driver, start, first_customer_sees_driver, age_s=120)
    await page.goto(f"{base_url}/t/{route.tokens[2]}")

    await expect(page.locator("#stops-before")).to_have_text("Your driver has 2 stops before you")
    await expect(page.locator("#map-caption")).to_contain_text("once you are their current or next")
    await expect(page.locator(".pin--home")).to_be_visible()
    await expect(page.locator(".pin--driver")).to_have_count(0)
    await snapshot(page, "04-stops-before-you")

    # The first delivery is done: this customer is now the driver's next stop.
    await move(org.driver, route.orders[0]["id"], "en_route")
    await move(org.driver, route.orders[0]["id"], "delivered")
    raw = (43.738517, 7.421793)  # digits no 100 m grid centre has

    async def driver_shown() -> bool:
        return await page.locator(".pin--driver").count() > 0

    await drive_until(org.driver, raw, driver_shown)
    await expect(page.locator("#stops-before")).to_have_text("Your driver has 1 stop before you")
    # Nothing the page received or shows has the raw fix: only the approximate position.
    positions = [f["position"] for f in frames if f.get("type") == "driver_position"]
    assert any(positions)
    assert "738517" not in json.dumps(frames)
    assert "738517" not in await page.content()
    seen = {json.dumps(f.get("view", {})) for f in frames if f.get("type") == "snapshot"}
    assert all("738517" not in s for s in seen)


async def test_losing_the_socket_switches_to_polling_with_a_banner_then_back(
    org: Org, page: Page, base_url: str
) -> None:
    sockets: list[WebSocketRoute] = []
    blocked = False

    async def through(ws: WebSocketRoute) -> None:
        if blocked:
            await ws.close(code=1011, reason="blocked by a proxy")
            return
        ws.connect_to_server()
        sockets.append(ws)

    await page.route_web_socket(TRACK_SOCKET, through)
    await block_event_streams(page)
    reads = count_view_reads(page)
    order = await new_order(org)
    await open_link(org, page, base_url, order["id"])
    banner = page.locator("#connection")
    await expect(banner).to_have_attribute("data-state", "live")
    await expect(banner).to_be_hidden()
    assert len(reads) == 1  # the first view; then the socket's snapshot and frames

    blocked = True
    await sockets[-1].close(code=1011, reason="network lost")
    await expect(banner).to_be_visible()
    await expect(banner).to_have_text(
        "Live updates are unavailable. This page refreshes every 30 seconds."
    )
    await until(lambda: len(reads) == 2)  # polling starts with a read: events may be missed
    await snapshot(page, "05-connection-lost-polling")

    await assign(org.dispatcher, order["id"], org.driver_ids[0])
    await expect(page.get_by_role("status")).to_have_text("Order received")  # no socket
    await page.clock.run_for(POLL_MS)
    await expect(page.get_by_role("status")).to_have_text("Driver assigned")
    await expect(page.locator("#driver")).to_have_text("Dora")

    blocked = False  # the network is back: the next attempt (at most 30 s away) gets through
    connected = len(sockets)
    for _ in range(12):  # a step at a time: each attempt is timed from when the last failed
        await page.clock.run_for(5_000)
        if await banner.get_attribute("data-state") == "live":
            break
        await asyncio.sleep(0.2)
    await expect(banner).to_have_attribute("data-state", "live")
    await expect(banner).to_be_hidden()
    assert len(sockets) == connected + 1
    await move(org.dispatcher, order["id"], "en_route")
    await expect(page.get_by_role("status")).to_have_text("On its way")


async def test_blocked_websockets_from_the_start_poll_every_30_s(
    org: Org, page: Page, base_url: str
) -> None:
    async def refuse(ws: WebSocketRoute) -> None:
        await ws.close(code=1011, reason="blocked by a proxy")

    await page.route_web_socket(TRACK_SOCKET, refuse)
    await block_event_streams(page)
    reads = count_view_reads(page)
    order = await new_order(org)
    await open_link(org, page, base_url, order["id"])

    await expect(page.get_by_role("status")).to_have_text("Order received")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "polling")
    await expect(page.locator("#connection")).to_contain_text("refreshes every 30 seconds")
    await until(lambda: len(reads) == 2)  # the first view, and the one polling starts with
    await assign(org.dispatcher, order["id"], org.driver_ids[0])
    await page.clock.run_for(POLL_MS)
    await expect(page.get_by_role("status")).to_have_text("Driver assigned")
    await move(org.dispatcher, order["id"], "en_route")
    await page.clock.run_for(POLL_MS)
    await expect(page.get_by_role("status")).to_have_text("On its way")
    assert len(reads) == 4


async def test_blocked_websockets_fall_back_to_server_sent_events_not_polling(
    org: Org, page: Page, base_url: str, seen_urls: list[str]
) -> None:
    async def refuse(ws: WebSocketRoute) -> None:
        await ws.close(code=1011, reason="blocked by a proxy")

    await page.route_web_socket(TRACK_SOCKET, refuse)
    route = await on_route(org, [HOME])
    order_id, token = route.orders[0]["id"], route.tokens[0]
    await page.add_init_script(f"document.addEventListener('DOMContentLoaded', {RECORD_STATES})")
    await page.goto(f"{base_url}/t/{token}")
    banner = page.locator("#connection")
    await expect(banner).to_have_attribute("data-state", "live")
    await expect(banner).to_be_hidden()
    assert any(TRACK_EVENTS.search(url) for url in seen_urls)
    await expect(page.get_by_role("status")).to_have_text("Driver assigned")

    # Live through the stream: the status and the driver's marker, no clock run, no poll.
    await move(org.driver, order_id, "en_route")
    await expect(page.get_by_role("status")).to_have_text("On its way")

    async def driver_shown() -> bool:
        return await page.locator(".pin--driver").count() > 0

    await drive_until(org.driver, south_of(HOME, 800), driver_shown, age_s=60)
    states: list[str] = await page.evaluate("window.states")
    assert "polling" not in states, states
    assert states[-1] == "live"
    await snapshot(page, "06-server-sent-events")
