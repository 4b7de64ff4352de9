"""Customers change instructions and the delivery window through their tracking link."""

from datetime import UTC, datetime

import httpx
import pytest

from backend.tracking_links.self_service import (
    InstructionOption,
    SelfServiceError,
    can_change_window,
    instruction_text,
    offered_slots,
)
from shared.enums import OrderStatus
from tests.factories import Org, create_order


def test_instructions_read_the_way_a_driver_needs_them() -> None:
    assert instruction_text(InstructionOption.GATE_CODE, " 48  21 ") == "Gate code: 48 21"
    assert instruction_text(InstructionOption.LEAVE_AT_DOOR, "") == "Leave at the door"
    assert instruction_text(InstructionOption.NONE, "ignored") == ""
    with pytest.raises(SelfServiceError, match="which neighbour"):
        instruction_text(InstructionOption.WITH_NEIGHBOUR, "  ")


def test_slots_start_two_hours_ahead_within_the_day() -> None:
    slots = offered_slots(datetime(2026, 11, 21, 9, 30, tzinfo=UTC), days=1)
    assert (slots[0].start.hour, slots[0].end.hour) == (12, 14)  # 10:00 is too soon
    assert [s.start.hour for s in slots] == [12, 14, 16, 18, 8, 10, 12, 14, 16, 18]
    assert can_change_window(OrderStatus.ASSIGNED) is None
    assert "on the way" in (can_change_window(OrderStatus.EN_ROUTE) or "")
    assert "delivered" in (can_change_window(OrderStatus.DELIVERED) or "")


async def link_for(org: Org, order_id: int) -> str:
    response = await org.dispatcher.post(f"/api/v1/orders/{order_id}/tracking-links", json={})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


async def move(org: Org, order_id: int, *targets: str) -> None:
    for to in targets:
        body = {"to": to, "driver_id": org.driver_ids[0]} if to == "assigned" else {"to": to}
        response = await org.dispatcher.post(f"/api/v1/orders/{order_id}/transitions", json=body)
        assert response.status_code == 200, response.text


async def test_instructions_apply_before_the_driver_sets_off_then_become_a_request(
    org: Org, base_url: str
) -> None:
    order = await create_order(org.dispatcher)
    await move(org, order["id"], "assigned")
    token = await link_for(org, order["id"])
    url = f"/api/v1/track/{token}/instructions"
    async with httpx.AsyncClient(base_url=base_url) as customer:
        applied = await customer.put(url, json={"option": "gate_code", "text": "4821"})
        assert applied.status_code == 200, applied.text
        assert applied.json()["outcome"] == "applied"
        view = (await customer.get(f"/api/v1/track/{token}")).json()
        assert view["instructions"] == "Gate code: 4821"
        driver_view = (await org.driver.get(f"/api/v1/orders/{order['id']}")).json()
        assert driver_view["instructions"] == "Gate code: 4821"

        await move(org, order["id"], "en_route")
        late = await customer.put(url, json={"option": "with_neighbour", "text": "Mme Roux, 12"})
        assert late.status_code == 200, late.text
        assert late.json()["outcome"] == "requested"
        assert late.json()["instructions"] == "Gate code: 4821"  # unchanged until dispatch acts
        events = (await org.dispatcher.get(f"/api/v1/orders/{order['id']}/events")).json()
        assert events[-1]["kind"] == "customer_request"
        request = events[-1]["details"]["request"]
        assert request["instructions"] == "With a neighbour: Mme Roux, 12"
        inbox = (await org.dispatcher.get("/api/v1/exceptions")).json()
        asked = [i for i in inbox if i["kind"] == "customer_request"]
        assert [(i["order_id"], i["instructions"]) for i in asked] == [
            (order["id"], "With a neighbour: Mme Roux, 12")
        ]

        empty = await customer.put(url, json={"option": "note", "text": ""})
        assert empty.status_code == 422
        assert "write the note" in empty.json()["error"]["message"]


async def test_a_new_window_from_the_offered_slots_until_the_driver_sets_off(
    org: Org, base_url: str
) -> None:
    order = await create_order(org.dispatcher)
    await move(org, order["id"], "assigned")
    token = await link_for(org, order["id"])
    async with httpx.AsyncClient(base_url=base_url) as customer:
        slots = (await customer.get(f"/api/v1/track/{token}/slots")).json()
        assert len(slots) >= 20
        chosen = slots[3]
        response = await customer.put(f"/api/v1/track/{token}/window", json=chosen)
        assert response.status_code == 200, response.text
        view = (await customer.get(f"/api/v1/track/{token}")).json()
        assert datetime.fromisoformat(view["window_start"]) == datetime.fromisoformat(
            chosen["start"]
        )
        made_up = {"start": "2030-01-01T09:00:00Z", "end": "2030-01-01T11:00:00Z"}
        refused = await customer.put(f"/api/v1/track/{token}/window", json=made_up)
        assert refused.status_code == 422
        assert "offered slots" in refused.json()["error"]["message"]

        await move(org, order["id"], "en_route")
        assert (await customer.get(f"/api/v1/track/{token}/slots")).json() == []
        too_late = await customer.put(f"/api/v1/track/{token}/window", json=slots[5])
        assert too_late.status_code == 409
        assert too_late.json()["error"]["code"] == "too_late"
        view = (await customer.get(f"/api/v1/track/{token}")).json()
        assert datetime.fromisoformat(view["window_start"]) == datetime.fromisoformat(
            chosen["start"]
        )
