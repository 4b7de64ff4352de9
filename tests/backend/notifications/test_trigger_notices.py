"""The customer hears of each step (scheduled with the tracking link, out for delivery,
arriving, delivered, rescheduled) by email and SMS, over a real server, a real SMTP server
(aiosmtpd) and a real HTTP SMS gateway on loopback; once each, even when the request that
caused it is replayed."""

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from backend.config import Settings
from backend.db import create_engine, session_scope
from backend.models import Stop
from backend.notifications.hook import bind, on_etas
from backend.notifications.outbox import Notices
from tests.backend.notifications.peers import Gateway, Mailbox, eventually, settled
from tests.conftest import _new_org, make_settings
from tests.factories import Org, create_order
from tests.live_server import run_server


@dataclass
class World:
    org: Org
    settings: Settings
    mailbox: Mailbox
    gateway: Gateway


@pytest.fixture(scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory, peers: tuple[Mailbox, int, Gateway, str]
) -> AsyncIterator[World]:
    mailbox, port, gateway, url = peers
    settings = make_settings(
        tmp_path_factory.mktemp("trigger-notices"),
        smtp_host="127.0.0.1",
        smtp_port=port,
        email_from="Monaco Parcels <parcels@monaco.example>",
        sms_gateway_url=url,
        notify_retry_base_s=0.3,
        notify_poll_s=0.1,
    )
    with run_server(settings) as base_url:
        async with _new_org(settings, base_url) as org:
            yield World(org, settings, mailbox, gateway)


_numbers = iter(range(100_000))


async def customer_order(world: World) -> tuple[dict[str, Any], str, str]:
    n = next(_numbers)
    phone, email = f"+377 620 {n:04d}", f"trigger{n}@example.test"
    order = await create_order(world.org.dispatcher, recipient_phone=phone, recipient_email=email)
    return order, phone, email


async def rows_of(org: Org, order_id: int) -> list[dict[str, Any]]:
    response = await org.dispatcher.get(f"/api/v1/orders/{order_id}/notifications")
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def texts_to(gateway: Gateway, number: str) -> list[str]:
    with gateway.lock:
        return [r["body"]["text"] for r in gateway.received if r["body"]["to"] == number]


async def move(client: Any, order_id: int, **body: Any) -> None:
    response = await client.post(f"/api/v1/orders/{order_id}/transitions", json=body)
    assert response.status_code == 200, response.text


async def publish_route(world: World, stop_ids: list[int]) -> int:
    org = world.org
    body = {
        "driver_id": org.driver_ids[0],
        "service_date": datetime.now(UTC).date().isoformat(),
        "stops": [{"stop_id": s} for s in stop_ids],
    }
    created = await org.dispatcher.post("/api/v1/routes", json=body)
    assert created.status_code == 201, created.text
    route_id: int = created.json()["id"]
    published = await org.dispatcher.patch(
        f"/api/v1/routes/{route_id}", json={"status": "published"}
    )
    assert published.status_code == 200, published.text
    return route_id


async def test_a_scheduled_order_gets_its_tracking_link_by_email_and_sms_once(
    world: World,
) -> None:
    order, phone, email = await customer_order(world)
    order_id = order["id"]
    await move(world.org.dispatcher, order_id, to="assigned", driver_id=world.org.driver_ids[0])
    assert await rows_of(world.org, order_id) == []  # not on a published route yet
    route_id = await publish_route(world, [s["id"] for s in order["stops"]])

    await eventually(lambda: len(world.mailbox.to(email)) == 1, "the scheduled email")
    await eventually(lambda: len(texts_to(world.gateway, phone)) == 1, "the scheduled SMS")
    [sms] = texts_to(world.gateway, phone)
    prefix = "is scheduled for delivery. http://track.example.test/t/"
    assert prefix in sms
    token = sms.split(prefix)[1]
    # The link was made for the notice (the org's auto_tracking_links) and it works.
    page = await world.org.dispatcher.get(f"/api/v1/track/{token}")
    assert page.status_code == 200, page.text
    assert page.json()["order_reference"] == order["reference"]
    [mail] = world.mailbox.to(email)
    assert mail["Subject"] == f"Your delivery {order['reference']} is scheduled"
    assert mail["Message-ID"].endswith("@monaco.example>")
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert f"http://track.example.test/t/{token}" in payload.decode()

    # Published again (a stop moved): the customer is not told twice.
    again = await world.org.dispatcher.patch(
        f"/api/v1/routes/{route_id}", json={"status": "published"}
    )
    assert again.status_code == 200, again.text
    rows = await rows_of(world.org, order_id)
    assert sorted((r["template"], r["channel"]) for r in rows) == [
        ("scheduled", "email"),
        ("scheduled", "sms"),
    ]


async def test_out_for_delivery_is_sent_once_when_the_drivers_request_is_replayed(
    world: World,
) -> None:
    order, phone, email = await customer_order(world)
    order_id = order["id"]
    await move(world.org.dispatcher, order_id, to="assigned", driver_id=world.org.driver_ids[0])
    client_id = uuid.uuid4().hex
    for _ in range(3):  # the phone's offline queue sends it again
        await move(world.org.driver, order_id, to="en_route", client_id=client_id)
    await eventually(lambda: len(world.mailbox.to(email)) == 1, "the out-for-delivery email")
    await eventually(lambda: len(texts_to(world.gateway, phone)) == 1, "the SMS")
    [mail] = world.mailbox.to(email)
    assert mail["Subject"] == f"Your parcel {order['reference']} is out for delivery"
    rows = await settled(lambda: rows_of(world.org, order_id))
    assert sorted((r["template"], r["channel"], r["status"]) for r in rows) == [
        ("out_for_delivery", "email", "sent"),
        ("out_for_delivery", "sms", "sent"),
    ]


async def test_arriving_goes_once_when_the_eta_comes_within_the_minutes(world: World) -> None:
    order, phone, _ = await customer_order(world)
    order_id = order["id"]
    await move(world.org.dispatcher, order_id, to="assigned", driver_id=world.org.driver_ids[0])
    await move(world.org.dispatcher, order_id, to="en_route")
    engine = create_engine(world.settings.resolved_database_url)
    bind(engine, Notices(world.settings))  # as lifespan binds the server's engine
    try:
        async with session_scope(engine) as session:
            stop = (await session.exec(select(Stop).where(Stop.order_id == order_id))).one()
            assert stop.id is not None
            now = time.time()
            await on_etas(session, [(order_id, stop.id, now + 30 * 60)], now)  # 30 min: not yet
            await on_etas(session, [(order_id, stop.id, now + 8 * 60)], now)  # 8 ≤ 10 min
            await on_etas(session, [(order_id, stop.id, now + 5 * 60)], now)  # once only
    finally:
        await engine.dispose()
    await eventually(lambda: any("arrives" in t for t in texts_to(world.gateway, phone)), "SMS")
    rows = [r for r in await rows_of(world.org, order_id) if r["template"] == "arriving"]
    assert sorted(r["channel"] for r in rows) == ["email", "sms"]  # once per channel
    sms = next(r for r in rows if r["channel"] == "sms")
    assert "our driver arrives in about 8 min" in sms["body"]


async def test_rescheduled_and_delivered_tell_the_customer_each_time(world: World) -> None:
    order, phone, _ = await customer_order(world)
    order_id, driver_id = order["id"], world.org.driver_ids[0]
    for body in (
        {"to": "assigned", "driver_id": driver_id},
        {"to": "en_route"},
        {"to": "failed", "reason": "not_home"},  # set by dispatch: no failure report, no notice
        {"to": "rescheduled"},
        {"to": "assigned", "driver_id": driver_id},
        {"to": "en_route"},
        {"to": "delivered"},
    ):
        await move(world.org.dispatcher, order_id, **body)
    await eventually(lambda: len(texts_to(world.gateway, phone)) == 4, "four SMS")
    rows = await rows_of(world.org, order_id)
    sms = [r["template"] for r in rows if r["channel"] == "sms"]
    assert sms == ["out_for_delivery", "rescheduled", "out_for_delivery", "delivered"]
    # queued in that order; the worker may send notices due together in any order
    sent = texts_to(world.gateway, phone)
    assert sum("out for delivery" in text for text in sent) == 2
    assert sum("moves to another day" in text for text in sent) == 1
    assert sum("was delivered" in text for text in sent) == 1
