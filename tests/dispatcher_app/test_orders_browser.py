"""The orders grid in a real browser: filter by driver and "Unassigned", tick orders in
bulk, create an order (no geocoder here: pinned with a click on the map), import a CSV
file through the file picker with one bad row."""

from pathlib import Path

import pytest
from playwright.async_api import FilePayload, Locator, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from tests.browser import CHROMIUM, FletPage, open_in_chromium, serve_app
from tests.conftest import require_tool
from tests.dispatcher_app.test_exceptions_browser import ARTIFACTS
from tests.factories import PASSWORD, Org, assign, create_order

DEPOT = (43.7290, 7.4160)
CSV = (
    "reference,name,address,lat,lon\n"
    "CSV-1,Ann,1 Rue A,43.74,7.42\n"
    "CSV-2,Bob,2 Rue B,north,7.42\n"
    "CSV-3,Cy,3 Rue C,43.75,7.43\n"
)


def row_of(ui: FletPage, reference: str) -> Locator:
    """A grid line, by its tick box (named after the order's reference)."""
    return ui.page.get_by_role("checkbox", name=f"Select {reference}", exact=True)


async def pick(ui: FletPage, menu: str, item: str) -> None:
    """Open a dropdown and choose ``item`` (again if the menu did not open: it ignores a
    click while the last one is still closing)."""
    choice = ui.page.get_by_role("button", name=item, exact=True).last
    for _ in range(3):
        await ui.click(menu)
        try:
            await choice.wait_for(timeout=3_000)
        except PlaywrightTimeout:
            continue
        await choice.click()
        return
    raise AssertionError(f"{item!r} never showed in {menu}")


@pytest.mark.browser
@pytest.mark.timeout(240)
async def test_filter_select_create_and_import(org: Org, base_url: str, tmp_path: Path) -> None:
    require_tool(CHROMIUM, "Chromium")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    free = [await create_order(org.dispatcher) for _ in range(2)]
    taken = await create_order(org.dispatcher)
    await assign(org.dispatcher, taken["id"], org.driver_ids[0])
    depot = {"name": "Fontvieille", "lat": DEPOT[0], "lng": DEPOT[1]}
    assert (await org.admin.post("/api/v1/depots", json=depot)).status_code == 201

    async with (
        serve_app("dispatcher_app", base_url, tmp_path / "dispatcher_app.log") as url,
        open_in_chromium(url) as ui,
    ):
        await ui.sign_in(org.emails["dispatcher"], PASSWORD)
        await ui.click("nav-orders")
        count = ui.by_id("orders-count")
        await expect(count).to_have_text("Showing 3 of 3", timeout=10_000)

        # Only the orders on no driver, then Dora's.
        await pick(ui, "orders-filter-driver", "Unassigned")
        await expect(count).to_have_text("Showing 2 of 2")
        for order in free:
            await expect(row_of(ui, order["reference"])).to_be_visible()
        await ui.page.wait_for_timeout(300)  # the canvas paints after the semantics
        await ui.page.screenshot(path=ARTIFACTS / "orders-filtered.png")

        # Tick them all, untick one.
        await ui.click("orders-select-all")
        await expect(ui.by_id("orders-selected-count")).to_have_text("2 of 2 selected")
        await ui.by_id("order-select").first.click()
        await expect(ui.by_id("orders-selected-count")).to_have_text("1 of 2 selected")
        await ui.page.wait_for_timeout(300)  # the canvas paints after the semantics
        await ui.page.screenshot(path=ARTIFACTS / "orders-selected.png")
        await ui.click("orders-clear-selection")
        await expect(ui.by_id("orders-selected-count")).to_have_text("None selected")

        await pick(ui, "orders-filter-driver", "Dora Driver")
        await expect(count).to_have_text("Showing 1 of 1")
        await expect(row_of(ui, taken["reference"])).to_be_visible()
        await pick(ui, "orders-filter-driver", "All drivers")
        await expect(count).to_have_text("Showing 3 of 3")

        # A new order: no geocoder on this server, so the panel says to pin it.
        await ui.click("order-create")
        await ui.type_into("order-create-reference", "WEB-1")
        await ui.type_into("order-create-recipient-name", "Walter Web")
        await ui.type_into("order-create-address", "7 Avenue de la Costa, Monaco")
        await ui.click("order-create-find")
        await expect(ui.by_id("order-create-notice")).to_contain_text("No geocoder")
        # A click on the map pins the address there. (The browser's click reaches the
        # map as an accessibility tap, at its centre: here the depot the map opens on.)
        await ui.click("order-create-map")
        await ui.page.wait_for_timeout(800)  # the fields' labels float up, animated
        await ui.page.screenshot(path=ARTIFACTS / "orders-create.png")
        await ui.click("order-create-submit")
        await expect(count).to_have_text("Showing 4 of 4", timeout=10_000)
        await expect(ui.by_id("orders-news")).to_have_text("Order WEB-1 created.")
        found = await org.dispatcher.get("/api/v1/orders", params={"q": "WEB-1"})
        [stop] = found.json()["items"][0]["stops"]
        assert (stop["lat"], stop["lng"]) == pytest.approx(DEPOT, abs=1e-5)

        # A CSV with one bad row: the report, "Import" refused, the valid rows imported.
        await ui.click("orders-import")
        async with ui.page.expect_file_chooser() as chosen:
            await ui.click("import-pick-file")
        chooser = await chosen.value
        upload: FilePayload = {"name": "orders.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
        await chooser.set_files(files=[upload])
        await expect(ui.by_id("import-summary")).to_have_text("3 rows: 2 ready, 1 with errors")
        bad = ui.by_id("import-report-row").filter(has_text="Error")
        await expect(bad).to_contain_text("lat: 'north' is not a latitude in degrees")
        await expect(bad).to_contain_text("3")
        await expect(ui.by_id("import-all").get_by_role("button")).to_be_disabled()
        await ui.page.wait_for_timeout(300)  # the canvas paints after the semantics
        await ui.page.screenshot(path=ARTIFACTS / "orders-import-report.png")
        await ui.click("import-valid")
        await expect(ui.by_id("import-result")).to_have_text("2 orders created.")
        await ui.click("import-close")
        await expect(count).to_have_text("Showing 6 of 6")
        await expect(ui.by_id("orders-news")).to_contain_text("2 orders imported.")
        await expect(row_of(ui, "CSV-3")).to_be_visible()
        await ui.page.wait_for_timeout(300)  # the canvas paints after the semantics
        await ui.page.screenshot(path=ARTIFACTS / "orders-imported.png")
