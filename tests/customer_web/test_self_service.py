"""What the customer does on the page, checked where it lands: the order read back through the
staff API. Instructions (with a pointer and with a keyboard alone), another delivery time,
and after delivery the proof summary and a rating."""

import re
from datetime import datetime
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.backend.pod.test_pod_api import en_route_order, jpeg, send_pod
from tests.customer_web.pages import new_order, open_link, snapshot, tracking_view
from tests.factories import Org

pytestmark = pytest.mark.browser


async def order_of(org: Org, order_id: int) -> dict[str, Any]:
    response = await org.dispatcher.get(f"/api/v1/orders/{order_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_instructions_are_changed_and_stored(org: Org, page: Page, base_url: str) -> None:
    order = await new_order(org)
    await open_link(org, page, base_url, order["id"])
    await page.get_by_role("button", name="Change instructions").click()
    form = page.locator("#instructions-form")
    # The stored instructions are a note: the form starts from them.
    await expect(form.get_by_label("A note for the driver")).to_be_checked()
    await expect(form.get_by_role("textbox", name="Note for the driver")).to_have_value(
        "Ring twice, parcel box by the gate"
    )

    await form.get_by_label("With a neighbour").check()
    await form.get_by_role("textbox", name="Which neighbour (name or door)").fill("")
    await form.get_by_role("button", name="Save instructions").click()
    await expect(page.locator("#instructions-result")).to_have_text(
        "Please fill in: Which neighbour (name or door)."
    )
    assert (await order_of(org, order["id"]))["instructions"] == order["instructions"]

    await form.get_by_label("Use a gate code").check()
    await form.get_by_role("textbox", name="Gate code").fill("4821")
    await snapshot(page, "06-instructions-form")
    await form.get_by_role("button", name="Save instructions").click()

    await expect(page.locator("#instructions-result")).to_contain_text("instructions were saved")
    await expect(page.locator("#instructions")).to_have_text("Gate code: 4821")
    await expect(form).to_be_hidden()
    assert (await order_of(org, order["id"]))["instructions"] == "Gate code: 4821"


async def test_instructions_form_works_with_the_keyboard_alone(
    org: Org, page: Page, base_url: str
) -> None:
    order = await new_order(org)
    await open_link(org, page, base_url, order["id"])
    await expect(page.locator("#instructions")).to_have_text("Ring twice, parcel box by the gate")

    async def focused() -> str:
        found: str = await page.evaluate(
            "document.activeElement.id || document.activeElement.value || ''"
        )
        return found

    for _ in range(40):  # Tab through the page to the button, as a keyboard user does
        await page.keyboard.press("Tab")
        if await focused() == "instructions-edit":
            break
    else:
        raise AssertionError("Tab never reached the 'Change instructions' button")
    await page.keyboard.press("Enter")
    assert await focused() == "note"  # the current choice has the focus
    await page.keyboard.press("ArrowUp")  # the radio group moves and checks with the arrows
    assert await focused() == "gate_code"
    await expect(page.get_by_label("Use a gate code")).to_be_checked()
    await page.keyboard.press("Tab")
    assert await focused() == "instructions-text"
    await page.keyboard.press("ControlOrMeta+a")
    await page.keyboard.type("1234B")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")  # "Save instructions"

    await expect(page.locator("#instructions")).to_have_text("Gate code: 1234B")
    # The form closed and the focus went back to where it was opened from.
    await expect(page.locator("#instructions-edit")).to_be_focused()
    assert (await order_of(org, order["id"]))["instructions"] == "Gate code: 1234B"
    # Escape closes the form without a change.
    await page.keyboard.press("Enter")
    await expect(page.locator("#instructions-form")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.locator("#instructions-form")).to_be_hidden()
    await expect(page.locator("#instructions-edit")).to_be_focused()


async def test_once_the_driver_is_on_the_way_instructions_go_to_the_dispatcher(
    org: Org, page: Page, base_url: str
) -> None:
    order_id = await en_route_order(org, instructions="Ring twice")
    await open_link(org, page, base_url, order_id)
    await expect(page.get_by_role("status")).to_have_text("On its way")
    await page.get_by_role("button", name="Change instructions").click()
    await page.get_by_label("Leave it at the door").check()
    await page.get_by_role("button", name="Save instructions").click()

    await expect(page.locator("#instructions-result")).to_have_text(
        "The driver is already on the way: your instructions were sent to the dispatcher."
    )
    await expect(page.locator("#instructions")).to_have_text("Ring twice")
    assert (await order_of(org, order_id))["instructions"] == "Ring twice"


async def test_the_customer_moves_the_delivery_to_an_offered_slot(
    org: Org, page: Page, base_url: str
) -> None:
    order = await new_order(org)
    token = await open_link(org, page, base_url, order["id"])
    await page.get_by_role("button", name="Choose another time").click()
    choice = page.get_by_label("New delivery time")
    await expect(choice).to_be_focused()
    await choice.select_option(index=2)
    await snapshot(page, "07-reschedule")
    await page.get_by_role("button", name="Confirm new time").click()

    await expect(page.locator("#reschedule-result")).to_contain_text("Your delivery time is now")
    dropoff = (await order_of(org, order["id"]))["stops"][0]
    view = await tracking_view(base_url, token)
    assert (view["window_start"], view["window_end"]) == (
        dropoff["window_start"],
        dropoff["window_end"],
    )
    start = datetime.fromisoformat(dropoff["window_start"])
    assert start != datetime.fromisoformat(order["stops"][0]["window_start"])
    shown = f"{start:%H:%M}\N{EN DASH}{datetime.fromisoformat(dropoff['window_end']):%H:%M}"
    await expect(page.locator("#window")).to_contain_text(shown)
    await expect(page.locator("#reschedule-result")).to_contain_text(shown)


async def test_after_delivery_the_proof_and_one_rating(org: Org, page: Page, base_url: str) -> None:
    shown = await org.admin.patch("/api/v1/organization", json={"show_proof_photo": True})
    assert shown.status_code == 200, shown.text
    order_id = await en_route_order(org)
    token = await open_link(org, page, base_url, order_id)
    await expect(page.get_by_role("status")).to_have_text("On its way")
    await expect(page.locator("#rating")).to_be_hidden()

    sent = await send_pod(org.driver, order_id, [jpeg(colour="orange")], recipient_name="Rita")
    assert sent.status_code == 201, sent.text

    # Live: the page hears the delivery and shows its proof.
    await expect(page.get_by_role("status")).to_have_text("Delivered")
    proof = page.locator("#proof")
    await expect(proof).to_contain_text("Received by Rita.")
    await expect(page.locator("#proof-time")).to_contain_text(re.compile(r" at \d\d:\d\d$"))
    photo = page.get_by_role("img", name="Photo taken when your parcel was delivered")
    await expect(photo).to_be_visible()
    assert await photo.evaluate("img => img.complete && img.naturalWidth > 0")
    await expect(page.locator("#map-section")).to_be_hidden()
    await expect(page.locator("#eta")).to_be_hidden()
    await expect(page.locator("#pin")).to_be_hidden()
    await snapshot(page, "08-delivered")

    form = page.locator("#rating-form")
    await form.locator("label[for=star-4]").click()
    await expect(form.get_by_label("4 stars")).to_be_checked()
    await form.get_by_label("Comment (optional)").fill("Quick and kind")
    await form.get_by_role("button", name="Send rating").click()

    done = page.locator("#rating-done")
    await expect(done).to_have_text(
        "You rated this delivery 4 out of 5 stars. \N{LEFT DOUBLE QUOTATION MARK}Quick and kind"
        "\N{RIGHT DOUBLE QUOTATION MARK} Thank you!"
    )
    await expect(form).to_be_hidden()
    view = await tracking_view(base_url, token)
    assert (view["rating"]["stars"], view["rating"]["comment"]) == (4, "Quick and kind")
    assert view["can_rate"] is False
    await snapshot(page, "09-rated")

    await page.reload()  # the rating stays; no second one is offered
    await expect(done).to_contain_text("4 out of 5 stars")
    await expect(form).to_be_hidden()


async def test_no_rating_before_delivery(org: Org, page: Page, base_url: str) -> None:
    order = await new_order(org)
    await open_link(org, page, base_url, order["id"])
    await expect(page.get_by_role("status")).to_have_text("Order received")
    await expect(page.locator("#rating")).to_be_hidden()
    await expect(page.locator("#proof")).to_be_hidden()
