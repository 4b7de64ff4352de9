"""The exceptions inbox: the server's items in words, and the count the nav badge shows."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from dispatcher_app.logic.exceptions import changes_inbox, exception_line
from dispatcher_app.state.app import DispatcherAppState
from shared.api_client import ApiClient
from tests.backend.pod.test_pod_api import en_route_order
from tests.factories import PASSWORD, Org


def test_items_read_as_words_in_the_dispatchers_time() -> None:
    failed = exception_line(
        {
            "kind": "failed_delivery",
            "order_id": 7,
            "at": "2031-03-14T09:05:00+00:00",
            "reason": "not_home",
            "follow_up": "reattempt_today",
            "note": "dog barking",
        },
        driver_names={},
        tz=UTC,
    )
    assert (failed.title, failed.subject, failed.at) == ("Failed delivery", "Order #7", "09:05")
    assert failed.detail == "reason: not home · next: reattempt today · “dog barking”"
    off = exception_line(
        {"kind": "off_route", "driver_id": 3, "at": "2031-03-14T09:05:00Z", "distance_m": 412.4},
        driver_names={3: "Dora Driver"},
        tz=UTC,
    )
    assert (off.title, off.subject, off.detail) == (
        "Driver off the planned route",
        "Dora Driver",
        "412 m away",
    )
    late = exception_line(
        {"kind": "late_risk", "order_id": 2, "at": None, "late_by_s": 600},
        driver_names={},
        tz=UTC,
    )
    assert (late.title, late.detail, late.at) == ("May miss its window", "late by about 10 min", "")


def test_only_frames_that_may_add_an_item_reread_the_inbox() -> None:
    failed = {"type": "order_event", "kind": "status_changed", "to_status": "failed"}
    assert changes_inbox(failed)
    assert changes_inbox({"type": "order_event", "kind": "late_risk", "to_status": None})
    assert changes_inbox({"type": "driver_event", "kind": "off_route"})
    assert not changes_inbox({**failed, "to_status": "en_route"})
    assert not changes_inbox({"type": "driver_event", "kind": "zone_entered"})
    assert not changes_inbox({"type": "positions", "positions": []})


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[ApiClient]:
    async with ApiClient(base_url) as api:
        yield api


async def test_a_failed_delivery_is_in_the_inbox_and_counted(org: Org, client: ApiClient) -> None:
    app = DispatcherAppState(client, now=lambda: datetime(2031, 3, 14, tzinfo=UTC), tz=UTC)
    assert await app.login(org.emails["dispatcher"], PASSWORD)
    assert app.exceptions.count == 0

    order_id = await en_route_order(org)
    response = await org.driver.post(
        f"/api/v1/orders/{order_id}/failure",
        data={"client_id": uuid.uuid4().hex, "reason": "damaged", "note": "box crushed"},
    )
    assert response.status_code == 201, response.text
    # No reload asked for: the fleet socket's event makes the inbox read itself again.
    for _ in range(100):
        if app.exceptions.count:
            break
        await asyncio.sleep(0.05)

    assert app.exceptions.count == 1
    line = exception_line(app.exceptions.items[0], driver_names=app.drivers.names, tz=UTC)
    assert (line.title, line.subject) == ("Failed delivery", f"Order #{order_id}")
    assert "damaged" in line.detail
    assert "box crushed" in line.detail

    app.logout()
    assert app.exceptions.count == 0
    await app.fleet.aclose()
