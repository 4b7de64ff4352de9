"""The stop screen in a real browser: a wrong parcel is warned in red, the parcels typed,
a signature drawn with the pointer, and the delivery queued with what was drawn."""

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser import CHROMIUM, open_in_chromium, serve_app
from tests.conftest import require_tool


def queued(log: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line.removeprefix("QUEUED "))
        for line in log.read_text().splitlines()
        if line.startswith("QUEUED ")
    ]


@pytest.mark.browser
@pytest.mark.timeout(120)
async def test_a_delivery_at_the_stop_from_scan_to_signature(tmp_path: Path) -> None:
    require_tool(CHROMIUM, "Chromium")
    log = tmp_path / "page.log"
    async with (
        serve_app("tests.driver_app.stop_flow_page", "http://127.0.0.1:9", log) as url,
        open_in_chromium(url) as app,
    ):
        await expect(app.by_id("stop-missing")).to_contain_text("Scan every parcel (0 of 2")
        await app.type_into("scan-code-input", "PK-9")
        await app.click("scan-code-add")
        await expect(app.by_id("parcel-warning")).to_contain_text(
            "WRONG PARCEL: PK-9 is not for this stop. It goes to stop 4"
        )
        for code in ("pk-1", "PK 2"):  # as drivers type them
            await app.type_into("scan-code-input", code)
            await app.click("scan-code-add")
        await expect(app.by_id("parcels-scanned")).to_have_text("2 of 2 parcels scanned")
        await expect(app.by_id("scan-code-input").locator("input")).to_have_value("")
        await expect(app.by_id("parcel-warning")).to_have_count(0)

        await app.type_into("recipient-name", "Bob Neighbour-Smith")
        await app.draw_zigzag("signature-pad")
        await expect(app.by_id("stop-missing")).to_have_count(0)
        await app.click("complete-stop")
        await expect(app.by_id("stop-done")).to_be_visible()

    [proof] = queued(log)
    assert proof["files"] == []
    action = proof["action"]
    assert action["kind"] == "pod"
    assert action["barcodes"] == ["PK-1", "PK-2"]
    assert action["recipient_name"] == "Bob Neighbour-Smith"
    [stroke] = json.loads(action["signature"])
    assert len(stroke) >= 5  # the pointer's path, not a dot
    xs = [x for x, _ in stroke]
    assert max(xs) - min(xs) > 100
