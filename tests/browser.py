"""Drive pages in Debian's Chromium through Playwright; run a Flet app as a subprocess for it.

Flet paints on a canvas; its semantics tree is what a test can see. Clicking the
``flt-semantics-placeholder`` turns that tree on, and every ``ft.Semantics(identifier=...)``
shows up as a ``flt-semantics-identifier`` attribute.
"""

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Locator, Page, async_playwright

from tests.live_server import free_port

CHROMIUM = "/usr/bin/chromium"


# A camera that films ``path`` (a Y4M video), allowed without asking.
def fake_camera_args(path: Path) -> list[str]:
    return [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={path}",
    ]


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parent.parent
STARTUP_S = 30.0
UI_TIMEOUT_MS = 20_000


async def _log_text(log: Path) -> str:
    return await asyncio.to_thread(log.read_text, errors="replace")


async def _wait_until_serving(url: str, process: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            if process.returncode is not None:
                raise RuntimeError(
                    f"the app exited with {process.returncode}:\n{await _log_text(log)}"
                )
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the app did not serve {url} in time:\n{await _log_text(log)}")
            await asyncio.sleep(0.2)


@asynccontextmanager
async def serve_app(
    module: str, api_url: str, log: Path, *, env: dict[str, str] | None = None
) -> AsyncIterator[str]:
    """``python -m <module>`` on a free port, as the demo launcher starts it; yields its URL.

    The app's output goes to ``log``, quoted when it fails to start. The driver app keeps
    its offline queues beside ``log`` unless ``env`` says where.
    """
    port = free_port()
    env = {
        **os.environ,
        "FLET_WEB_NO_CDN": "1",
        "LASTMILE_DRIVER_DATA_DIR": str(log.parent / f"{module}-data"),
        **(env or {}),
    }
    out = await asyncio.to_thread(log.open, "wb")
    try:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port)),
            *("--api", api_url),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    finally:
        out.close()  # the child holds its own copy
    url = f"http://127.0.0.1:{port}/"
    try:
        await _wait_until_serving(url, process, log)
        yield url
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()


class FletPage:
    """A Flet page with semantics on, addressed by semantics identifiers."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def by_id(self, identifier: str) -> Locator:
        return self.page.locator(f'[flt-semantics-identifier="{identifier}"]')

    async def type_into(self, identifier: str, text: str) -> None:
        """Replace the field's text, key by key as a person would.

        Flutter misses a value set in one go by ``Locator.fill()`` now and then.
        """
        field = self.by_id(identifier).locator("input")
        await field.click()
        await field.press("ControlOrMeta+a")
        await field.press("Backspace")
        # Flutter now and then keeps the text it had selected: take it out key by key.
        for _ in range(len(await field.input_value())):
            await field.press("End")
            await field.press("Backspace")
        # The whole text within one timeout: on a loaded box each key can take a second or two
        # while the Flutter page answers the one before (27 keys missed 20 s once in CI).
        await field.press_sequentially(text, timeout=max(UI_TIMEOUT_MS, 2_000 * len(text)))

    async def draw_zigzag(self, identifier: str) -> None:
        """Drag the mouse across the control in a zigzag (a signature on a pad)."""
        box = await self.by_id(identifier).bounding_box()
        assert box is not None, f"{identifier} is not on screen"
        mouse = self.page.mouse
        await mouse.move(box["x"] + 20, box["y"] + 30)
        await mouse.down()
        for step in range(1, 16):
            await mouse.move(box["x"] + 20 + step * 15, box["y"] + 30 + (step % 4) * 20, steps=3)
        await mouse.up()

    async def click(self, identifier: str) -> None:
        await self.by_id(identifier).click()

    async def sign_in(self, email: str, password: str) -> None:
        """Fill in the app's sign-in form and send it."""
        await self.type_into("login-email", email)
        await self.type_into("login-password", password)
        await self.click("login-submit")


@asynccontextmanager
async def open_in_chromium(
    url: str, *, extra_args: list[str] | None = None, **page_options: Any
) -> AsyncIterator[FletPage]:
    """``page_options`` go to Playwright's ``new_page`` (``geolocation``, ``permissions``);
    ``extra_args`` to Chromium (a fake camera)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *(extra_args or [])]
        )
        try:
            options: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}, **page_options}
            page = await browser.new_page(**options)
            page.set_default_timeout(UI_TIMEOUT_MS)
            await page.goto(url)
            placeholder = page.locator("flt-semantics-placeholder")
            await placeholder.wait_for(state="attached", timeout=STARTUP_S * 1000)
            await placeholder.dispatch_event("click")
            yield FletPage(page)
        finally:
            await browser.close()
