"""The exceptions inbox: the server's items in words, the count the nav badge shows, and
the actions that resolve an item (state against the real backend)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dispatcher_app.logic.exceptions import (
    WindowError,
    changes_inbox,
    day_choices,
    exception_line,
    new_window,
    tel_url,
)
from dispatcher_app.state.app import DispatcherAppState
from dispatcher_app.state.navigation import Section
from shared.api_client import ApiClient
from shared.enums import OrderStatus
from shared.schemas.exceptions import ExceptionItem
from tests.backend.pod.test_pod_api import en_route_order
from tests.factories import PASSWORD, Org

NOON = datetime(2031, 3, 14, 12, tzinfo=UTC)


def item(**fields: object) -> ExceptionItem:
    return ExceptionItem.model_validate({"key": "k", "actions": ["resolve"], **fields})


def test_items_read_as_words_in_the_dispatchers_time() -> None:
    failed = exception_line(
        item(
            kind="failed_delivery",
            order_id=7,
            order_reference="REF-7",
            recipient_name="Rita Recipient",
            driver_name="Dora Driver",
            contact_name="Rita Recipient",
            contact_phone="+377 600 000",
            at="2031-03-14T09:05:00+00:00",
            reason="not_home",
            follow_up="reattempt_today",
            note="dog barking",
            actions=["reassign", "call", "resolve"],
        ),
        tz=UTC,
        today=date(2031, 3, 14),
    )
    assert (failed.title, failed.subject, failed.at) == (
        "Failed delivery",
        "Order #7 · REF-7 · Rita Recipient",
        "09:05",
    )
    assert failed.detail == "reason: not home · next: reattempt today · “dog barking”"
    assert failed.people == "driver: Dora Driver · call Rita Recipient +377 600 000"
    assert failed.call_url == "tel:+377600000"
    off = exception_line(
        item(kind="off_route", driver_id=3, driver_name="Dora Driver", at=NOON, distance_m=412.4),
        tz=ZoneInfo("Europe/Monaco"),
        today=date(2031, 3, 13),
    )
    assert (off.title, off.subject, off.detail, off.at) == (
        "Driver off the planned route",
        "Dora Driver",
        "412 m away",
        "14 Mar 13:00",  # not today: with its date
    )
    silent = exception_line(
        item(kind="driver_silent", driver_id=4, at=NOON, silent_s=3 * 3600 + 600), tz=UTC
    )
    assert (silent.title, silent.subject, silent.detail) == (
        "Driver silent",
        "Driver #4",
        "no position for 3 h 10 min",
    )
    resolved = exception_line(
        item(
            kind="late_risk",
            order_id=2,
            at=NOON,
            late_by_s=600,
            resolved={
                "key": "k",
                "resolved_at": NOON,
                "resolved_by_user_id": 1,
                "resolved_by_name": "Ada",
                "note": "called",
            },
        ),
        tz=UTC,
    )
    assert resolved.detail == "late by about 10 min"
    assert resolved.resolved == "resolved by Ada at 12:00: called"
    assert resolved.actions == ()  # nothing left to do


def test_only_frames_that_may_change_it_reread_the_inbox() -> None:
    failed = {"type": "order_event", "kind": "status_changed", "to_status": "failed"}
    assert changes_inbox(failed)
    assert changes_inbox({"type": "order_event", "kind": "late_risk", "to_status": None})
    assert changes_inbox({"type": "driver_event", "kind": "off_route"})
    assert changes_inbox({"type": "exception_resolved", "key": "k"})
    assert not changes_inbox({**failed, "to_status": "en_route"})
    assert not changes_inbox({"type": "driver_event", "kind": "zone_entered"})
    assert not changes_inbox({"type": "positions", "positions": []})


def test_a_new_window_is_a_local_day_and_slot_and_never_in_the_past() -> None:
    monaco = ZoneInfo("Europe/Monaco")
    days = day_choices(date(2031, 3, 14))
    assert [d.key for d in days][:2] == ["2031-03-14", "2031-03-15"]
    assert days[1].label == "Tomorrow 15 Mar"
    start, end = new_window("2031-03-15", "10", monaco, NOON)
    assert (start, end) == (
        datetime(2031, 3, 15, 9, tzinfo=UTC),
        datetime(2031, 3, 15, 11, tzinfo=UTC),
    )
    with pytest.raises(WindowError, match="already over"):
        new_window("2031-03-14", "8", monaco, NOON)
    with pytest.raises(WindowError, match="pick a day"):
        new_window(None, "8", monaco, NOON)
    assert tel_url("+377 600.000") == "tel:+377600000"
    assert tel_url("") is None


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[ApiClient]:
    async with ApiClient(base_url) as api:
        yield api


async def signed_in(org: Org, client: ApiClient) -> DispatcherAppState:
    app = DispatcherAppState(client, now=lambda: datetime.now(UTC), tz=UTC)
    assert await app.login(org.emails["dispatcher"], PASSWORD)
    return app


async def fail(org: Org, reason: str = "damaged") -> int:
    order_id = await en_route_order(org)
    response = await org.driver.post(
        f"/api/v1/orders/{order_id}/failure",
        data={"client_id": uuid.uuid4().hex, "reason": reason, "note": "box crushed"},
    )
    assert response.status_code == 201, response.text
    return order_id


async def until(condition: object, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.05)


async def test_a_failed_delivery_is_in_the_inbox_and_counted(org: Org, client: ApiClient) -> None:
    app = await signed_in(org, client)
    assert app.exceptions.count == 0

    order_id = await fail(org)
    # No reload asked for: the fleet socket's event makes the inbox read itself again.
    await until(lambda: app.exceptions.count)

    assert app.exceptions.count == 1
    line = exception_line(app.exceptions.items[0], tz=UTC)
    assert (line.title, line.subject.split(" · ")[0]) == ("Failed delivery", f"Order #{order_id}")
    assert "damaged" in line.detail
    assert "box crushed" in line.detail
    assert "Dora Driver" in line.people

    app.logout()
    assert app.exceptions.count == 0
    await app.fleet.aclose()


async def test_resolving_empties_the_badge_here_and_for_another_dispatcher(
    org: Org, client: ApiClient, base_url: str
) -> None:
    app = await signed_in(org, client)
    await fail(org)
    await until(lambda: app.exceptions.count)
    async with ApiClient(base_url) as other_client:
        other = await signed_in(org, other_client)
        assert other.exceptions.count == 1
        key = app.exceptions.items[0].key

        assert await app.exceptions.resolve(key, "sorted on the phone")
        assert app.exceptions.count == 0
        assert app.exceptions.notice == "Marked resolved."
        await until(lambda: other.exceptions.count == 0)  # heard over its fleet socket
        assert other.exceptions.count == 0

        await app.exceptions.show_resolved(True)
        (shown,) = app.exceptions.items
        assert shown.resolved is not None
        assert shown.resolved.note == "sorted on the phone"
        assert app.exceptions.count == 0  # shown, not counted
        other.logout()
        await other.fleet.aclose()
    app.logout()
    await app.fleet.aclose()


async def test_rescheduling_gives_the_order_a_new_window_and_resolves_the_item(
    org: Org, client: ApiClient
) -> None:
    app = await signed_in(org, client)
    order_id = await fail(org)
    await app.exceptions.load()
    (found,) = app.exceptions.items
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()

    assert not await app.exceptions.reschedule_to(found.key, tomorrow.isoformat(), None, UTC)
    assert app.exceptions.error == "pick a day and a time window"
    assert await app.exceptions.reschedule_to(found.key, tomorrow.isoformat(), "10", UTC)

    order = (await org.dispatcher.get(f"/api/v1/orders/{order_id}")).json()
    assert order["status"] == "rescheduled"
    dropoff = order["stops"][0]
    start = datetime.combine(tomorrow, datetime.min.time(), UTC) + timedelta(hours=10)
    assert datetime.fromisoformat(dropoff["window_start"]) == start
    assert datetime.fromisoformat(dropoff["window_end"]) == start + timedelta(hours=2)
    assert app.exceptions.count == 0
    assert "rescheduled to" in (app.exceptions.notice or "")
    resolved = await client.exceptions(include_resolved=True)
    assert resolved[0].resolved is not None
    assert resolved[0].resolved.note.startswith("rescheduled to")
    app.logout()
    await app.fleet.aclose()


async def test_reassign_gives_the_order_to_another_driver_after_a_preview(
    org: Org, client: ApiClient
) -> None:
    app = await signed_in(org, client)
    order_id = await fail(org)
    await app.exceptions.load()
    (found,) = app.exceptions.items

    app.exceptions.open_for_reassign(found.key, app.nav, app.assign)
    assert app.nav.section is Section.PLAN
    assert app.assign.order_ids == [order_id]
    assert app.assign.preview is None  # nothing to show until a driver is chosen

    other = org.driver_ids[1]
    await app.assign.choose_driver(other)
    assert app.assign.preview is not None
    [route] = [r for r in app.assign.preview.routes if r.driver_id == other]
    assert [s.order_id for s in route.stops if s.added] == [order_id]
    assert (await client.get_order(order_id)).driver_id != other  # only previewed

    assert await app.assign.publish()
    order = await client.get_order(order_id)
    assert (order.status, order.driver_id) == (OrderStatus.ASSIGNED, other)
    assert app.assign.published is not None
    await app.exceptions.load()
    # reassigned: no longer a failure to deal with (the inbox says who took it)
    assert found.key not in [item.key for item in app.exceptions.items]
    resolved = await client.exceptions(include_resolved=True)
    [mine] = [item for item in resolved if item.key == found.key]
    assert mine.resolved is not None
    assert "reassigned to driver" in mine.resolved.note
    app.logout()
    await app.fleet.aclose()
