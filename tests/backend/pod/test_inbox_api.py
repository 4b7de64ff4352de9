"""GET /api/v1/exceptions (keys, actions, who and what), its count, marking an item
resolved, and drivers on shift who stopped sending their position."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.backend.pod.test_pod_api import en_route_order
from tests.factories import Org


async def inbox(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/exceptions", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


async def count(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/v1/exceptions/count")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def failed_delivery(org: Org) -> int:
    order_id = await en_route_order(org)
    response = await org.driver.post(
        f"/api/v1/orders/{order_id}/failure",
        data={"client_id": uuid.uuid4().hex, "reason": "damaged", "note": "box crushed"},
    )
    assert response.status_code == 201, response.text
    return order_id


async def test_an_item_has_a_stable_key_who_it_is_about_and_what_resolves_it(org: Org) -> None:
    order_id = await failed_delivery(org)
    order = (await org.dispatcher.get(f"/api/v1/orders/{order_id}")).json()
    (item,) = await inbox(org.dispatcher)
    events = (await org.dispatcher.get(f"/api/v1/orders/{order_id}/events")).json()
    failure = next(e for e in events if e["to_status"] == "failed")
    assert item["key"] == f"failed_delivery:order:{order_id}:event:{failure['id']}"
    assert [i["key"] for i in await inbox(org.dispatcher)] == [item["key"]]  # same next time
    assert item["order_reference"] == order["reference"]
    assert (item["recipient_name"], item["recipient_phone"]) == ("Rita Recipient", "+377 600 000")
    assert (item["driver_id"], item["driver_name"]) == (org.driver_ids[0], "Dora Driver")
    assert item["contact_phone"] == "+377 600 000"  # a failed delivery: call the customer
    assert item["order_status"] == "failed"  # damaged: back to the depot, dispatch decides
    assert item["actions"] == ["reassign", "reschedule", "call", "resolve"]
    assert (item["reason"], item["note"]) == ("damaged", "box crushed")
    assert await count(org.dispatcher) == {"total": 1, "by_kind": {"failed_delivery": 1}}


async def test_resolving_takes_it_out_of_the_inbox_and_the_count(org: Org, stranger: Org) -> None:
    await failed_delivery(org)
    (item,) = await inbox(org.dispatcher)
    key = item["key"]
    other = await stranger.dispatcher.post(f"/api/v1/exceptions/{key}/resolve", json={})
    assert other.status_code == 404, other.text  # another organisation's item
    assert await count(org.dispatcher) == {"total": 1, "by_kind": {"failed_delivery": 1}}

    done = await org.dispatcher.post(
        f"/api/v1/exceptions/{key}/resolve", json={"note": "new date agreed on the phone"}
    )
    assert done.status_code == 200, done.text
    resolution = done.json()
    assert resolution["key"] == key
    assert resolution["note"] == "new date agreed on the phone"
    assert resolution["resolved_by_name"] == org.emails["dispatcher"]  # no full name given
    assert await inbox(org.dispatcher) == []
    assert await count(org.dispatcher) == {"total": 0, "by_kind": {}}
    (shown,) = await inbox(org.dispatcher, include_resolved="true")
    assert shown["key"] == key
    assert shown["resolved"]["note"] == "new date agreed on the phone"

    again = await org.admin.post(f"/api/v1/exceptions/{key}/resolve")
    assert again.status_code == 200, again.text
    assert again.json()["resolved_at"] == resolution["resolved_at"]  # the first answer
    assert again.json()["resolved_by_name"] == org.emails["dispatcher"]


async def test_bad_keys_and_roles_are_refused_with_the_reason(org: Org) -> None:
    bad = await org.dispatcher.post("/api/v1/exceptions/not-a-key/resolve", json={})
    assert bad.status_code == 422
    assert "not an exceptions inbox key" in bad.json()["error"]["message"]
    missing = await org.dispatcher.post(
        "/api/v1/exceptions/failed_delivery:order:1:event:999999999/resolve", json={}
    )
    assert missing.status_code == 404
    long = await org.dispatcher.post("/api/v1/exceptions/x/resolve", json={"note": "n" * 501})
    assert long.status_code == 422
    assert (await org.driver.get("/api/v1/exceptions/count")).status_code == 403
    assert (
        await org.driver.post("/api/v1/exceptions/failed_delivery:order:1:event:1/resolve")
    ).status_code == 403


async def _fix(client: httpx.AsyncClient, minutes_ago: float) -> None:
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    fix = {"lat": 43.70, "lng": 7.26, "recorded_at": at.isoformat()}
    response = await client.post("/api/v1/drivers/me/locations", json={"fixes": [fix]})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1, response.text


async def test_a_driver_on_shift_without_a_position_for_too_long_is_listed(org: Org) -> None:
    await _fix(org.driver2, minutes_ago=12)  # the threshold is 10 minutes
    assert await inbox(org.dispatcher) == []  # offline: not expected to send anything
    response = await org.driver2.put("/api/v1/drivers/me/status", json={"status": "idle"})
    assert response.status_code == 200, response.text

    (item,) = await inbox(org.dispatcher)
    assert item["kind"] == "driver_silent"
    assert (item["driver_id"], item["driver_name"]) == (org.driver_ids[1], "Dirk Driver")
    assert 12 * 60 <= item["silent_s"] < 13 * 60
    assert item["key"].startswith(f"driver_silent:driver:{org.driver_ids[1]}:fix:")
    assert item["actions"] == ["resolve"]  # no phone on file
    assert await count(org.dispatcher) == {"total": 1, "by_kind": {"driver_silent": 1}}

    await _fix(org.driver2, minutes_ago=0)  # the phone is back
    assert await inbox(org.dispatcher) == []

    # On shift and never sent a position at all: listed too, once resolved it stays so.
    response = await org.driver.put("/api/v1/drivers/me/status", json={"status": "en_route"})
    assert response.status_code == 200, response.text
    (never,) = await inbox(org.dispatcher)
    assert never["key"] == f"driver_silent:driver:{org.driver_ids[0]}:fix:none"
    assert never["last_fix_at"] is None
    done = await org.dispatcher.post(f"/api/v1/exceptions/{never['key']}/resolve")
    assert done.status_code == 200, done.text
    assert await inbox(org.dispatcher) == []
