"""Helpers for the tracking page's tests: orders in the states a customer meets, a driver who
sends fixes through the driver API, and the page's parts as a customer notices them."""

import asyncio
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.async_api import Browser, BrowserContext, Page, Response, ViewportSize

from tests.browser import ROOT
from tests.factories import Org, assign, create_order

PHONE = ViewportSize(width=390, height=844)  # CSS pixels
NARROW = ViewportSize(width=360, height=740)  # the narrowest phone the page is made for
POLL_MS = 30_000  # without a socket the page reads the view every 30 s
LIVE_MS = 25_000  # an ETA is recomputed at most every 10 s per driver, then published
ARTIFACTS = ROOT / "test-artifacts" / "tracking"
RECIPIENT_PHONE = "+377 600 44 55"
HOME = (43.7405, 7.4262)  # the customer's address (WGS84 degrees)
M_PER_DEG_LAT = 111_195.0


async def phone_context(browser: Browser, viewport: ViewportSize) -> BrowserContext:
    return await browser.new_context(
        viewport=viewport, is_mobile=True, has_touch=True, locale="en-GB", timezone_id="UTC"
    )


async def snapshot(page: Page, name: str) -> None:
    """A screenshot of the whole page, kept as a test artifact."""
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
    await page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True, animations="disabled")


def south_of(point: tuple[float, float], metres: float) -> tuple[float, float]:
    return (point[0] - metres / M_PER_DEG_LAT, point[1])


def window_around_now() -> dict[str, str]:
    """A window that is open now (no waiting in the ETA)."""
    start = datetime.now(UTC) - timedelta(hours=1)
    return {"start": start.isoformat(), "end": (start + timedelta(hours=4)).isoformat()}


def tomorrow_window() -> dict[str, str]:
    start = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), datetime.min.time())
    start = start.replace(hour=9, tzinfo=UTC)
    return {"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()}


async def new_order(org: Org, **overrides: Any) -> dict[str, Any]:
    """An order for tomorrow 09:00-11:00 at :data:`HOME`, with instructions."""
    dropoff = {
        "address": "7 Avenue de la Costa, 98000 Monaco",
        "lat": HOME[0],
        "lng": HOME[1],
        "time_window": tomorrow_window(),
        "service_time_s": 120,
    }
    return await create_order(
        org.dispatcher,
        dropoff=dropoff,
        recipient_phone=RECIPIENT_PHONE,
        instructions="Ring twice, parcel box by the gate",
        **overrides,
    )


async def link_for(org: Org, order_id: int) -> str:
    response = await org.dispatcher.post(f"/api/v1/orders/{order_id}/tracking-links", json={})
    assert response.status_code == 201, response.text
    link = response.json()
    assert link["url"].endswith(f"/t/{link['token']}")
    token: str = link["token"]
    return token


async def open_link(org: Org, page: Page, base_url: str, order_id: int) -> str:
    token = await link_for(org, order_id)
    await page.goto(f"{base_url}/t/{token}")
    return token


async def move(client: httpx.AsyncClient, order_id: int, to: str) -> None:
    response = await client.post(f"/api/v1/orders/{order_id}/transitions", json={"to": to})
    assert response.status_code == 200, response.text


async def tracking_view(base_url: str, token: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as customer:
        response = await customer.get(f"/api/v1/track/{token}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@dataclass
class Round:
    """The first driver's published route of today: its orders in order, one link each."""

    orders: list[dict[str, Any]]
    tokens: list[str]


async def on_route(org: Org, points: list[tuple[float, float]]) -> Round:
    """Orders at ``points`` (the last is :data:`HOME`, usually), open windows, on today's
    published route of the first driver, in that order."""
    orders = []
    for n, (lat, lng) in enumerate(points):
        dropoff = {
            "address": f"{n + 1} Boulevard des Moulins, 98000 Monaco",
            "lat": lat,
            "lng": lng,
            "time_window": window_around_now(),
            "service_time_s": 120,
        }
        order = await create_order(org.dispatcher, dropoff=dropoff)
        await assign(org.dispatcher, order["id"], org.driver_ids[0])
        orders.append(order)
    created = await org.dispatcher.post(
        "/api/v1/routes",
        json={
            "driver_id": org.driver_ids[0],
            "service_date": datetime.now(UTC).date().isoformat(),
            "stops": [{"stop_id": o["stops"][0]["id"]} for o in orders],
        },
    )
    assert created.status_code == 201, created.text
    published = await org.dispatcher.patch(
        f"/api/v1/routes/{created.json()['id']}", json={"status": "published"}
    )
    assert published.status_code == 200, published.text
    return Round(orders, [await link_for(org, o["id"]) for o in orders])


async def send_fix(
    driver: httpx.AsyncClient, point: tuple[float, float], recorded_at: datetime
) -> None:
    fix = {
        "lat": point[0],
        "lng": point[1],
        "recorded_at": recorded_at.isoformat(),
        "accuracy_m": 8,
    }
    response = await driver.post("/api/v1/drivers/me/locations", json={"fixes": [fix]})
    assert response.status_code == 200, response.text


async def drive_until(
    driver: httpx.AsyncClient,
    point: tuple[float, float],
    done: Callable[[], Awaitable[bool]],
    *,
    age_s: float = 0.0,
    within_s: float = LIVE_MS / 1000,
) -> None:
    """Send a fix at ``point`` (recorded ``age_s`` ago) every half second, as a phone
    standing there would, until ``done()``; fail after ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while True:
        await send_fix(driver, point, datetime.now(UTC) - timedelta(seconds=age_s))
        if await done():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not done within {within_s} s of fixes at {point}")
        await asyncio.sleep(0.5)


async def until(done: Callable[[], bool], within_s: float = 5.0) -> None:
    """Wait for ``done()``, checking every 50 ms; fail after ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"not done within {within_s} s")
        await asyncio.sleep(0.05)


def count_view_reads(page: Page) -> list[str]:
    """The URLs of every view the page reads over HTTP (GET /api/v1/track/{token})."""
    reads: list[str] = []
    view = re.compile(r"/api/v1/track/[^/]+$")

    def seen(response: Response) -> None:
        if view.search(response.url):
            reads.append(response.url)

    page.on("response", seen)
    return reads


async def eta_minutes(page: Page) -> int | None:
    """The minutes of "Arriving in N min, ..." (0: "any minute now"; None: no countdown)."""
    eta = page.locator("#eta")
    if not await eta.is_visible():
        return None
    text = await eta.inner_text()
    if text.startswith("Arriving any minute now"):
        return 0
    found = re.match(r"Arriving in (\d+) min", text)
    return int(found.group(1)) if found else None


async def centre(page: Page, selector: str) -> tuple[float, float]:
    box = await page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not on the page"
    return (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


async def pixels_apart(page: Page, a: str, b: str) -> float:
    (ax, ay), (bx, by) = await centre(page, a), await centre(page, b)
    return math.hypot(ax - bx, ay - by)


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (a[0] - b[0]) * M_PER_DEG_LAT
    dx = (a[1] - b[1]) * M_PER_DEG_LAT * math.cos(math.radians(a[0]))
    return math.hypot(dx, dy)
