"""A failed delivery tells the customer what happens next, by SMS and email, over a real
server, a real SMTP server (aiosmtpd) and a real HTTP SMS gateway on loopback."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.backend.notifications.peers import Gateway, Mailbox, eventually, settled
from tests.backend.pod.test_failures import fail
from tests.backend.pod.test_pod_api import en_route_order, jpeg
from tests.conftest import _new_org, make_settings
from tests.factories import Org
from tests.live_server import run_server


@dataclass
class World:
    org: Org
    mailbox: Mailbox
    gateway: Gateway


@pytest.fixture(scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory, peers: tuple[Mailbox, int, Gateway, str]
) -> AsyncIterator[World]:
    mailbox, port, gateway, url = peers
    settings = make_settings(
        tmp_path_factory.mktemp("notices"),
        smtp_host="127.0.0.1",
        smtp_port=port,
        email_from="Monaco Parcels <parcels@monaco.example>",
        sms_gateway_url=url,
        sms_gateway_token="gateway-secret",
        notify_retry_base_s=0.3,
        notify_poll_s=0.1,
        failure_follow_ups={"business_closed": "safe_place"},
    )
    with run_server(settings) as base_url:
        async with _new_org(settings, base_url) as org:
            # Only the failure notices: the others (out for delivery...) have their tests.
            only_failed = {"enabled_triggers": ["failed"]}
            response = await org.admin.put("/api/v1/notifications/settings", json=only_failed)
            assert response.status_code == 200, response.text
            yield World(org, mailbox, gateway)


_numbers = iter(range(100_000))


async def customer_order(world: World, **overrides: Any) -> tuple[int, str, str]:
    """An en-route order for a customer with their own phone and email, and a live link."""
    n = next(_numbers)
    phone, email = f"+377 610 {n:04d}", f"customer{n}@example.test"
    fields = {"recipient_phone": phone, "recipient_email": email, **overrides}
    order_id = await en_route_order(world.org, **fields)
    return order_id, phone, email


async def notices(org: Org, order_id: int) -> list[dict[str, Any]]:
    response = await org.dispatcher.get(f"/api/v1/orders/{order_id}/notifications")
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def delivered_sms(gateway: Gateway, number: str) -> list[dict[str, Any]]:
    with gateway.lock:
        return [r for r in gateway.received if r["body"]["to"] == number and r["status"] == 200]


async def test_a_customer_who_was_out_hears_by_sms_and_email_once_with_their_link(
    world: World,
) -> None:
    order_id, phone, email = await customer_order(world)
    link = await world.org.dispatcher.post(f"/api/v1/orders/{order_id}/tracking-links", json={})
    assert link.status_code == 201, link.text
    url = link.json()["url"]
    client_id = uuid.uuid4().hex
    response = await fail(world.org.driver, order_id, "not_home", client_id)
    assert response.status_code == 201, response.text

    await eventually(lambda: len(world.mailbox.to(email)) == 1, "the email")
    await eventually(lambda: len(delivered_sms(world.gateway, phone)) == 1, "the SMS")
    [mail] = world.mailbox.to(email)
    assert mail["Subject"].startswith("We missed you: we will try again today (REF-")
    assert mail["From"] == "Monaco Parcels <parcels@monaco.example>"
    assert mail["Message-ID"].endswith("@monaco.example>")
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode()
    assert "because nobody was in. We will try again later today." in text
    assert url in text
    [sms] = delivered_sms(world.gateway, phone)
    assert sms["headers"]["Authorization"] == "Bearer gateway-secret"
    assert sms["body"]["text"].endswith(f"We will try again later today. {url}")

    rows = await settled(lambda: notices(world.org, order_id))
    assert {(r["channel"], r["recipient"], r["status"], r["attempts"]) for r in rows} == {
        ("sms", phone, "sent", 1),
        ("email", email, "sent", 1),
    }
    assert sms["headers"]["Idempotency-Key"] == f"lastmile-{rows[0]['id']}"

    # The phone's offline queue replays the report: nothing more reaches the customer.
    replay = await fail(world.org.driver, order_id, "not_home", client_id)
    assert replay.json()["replayed"] is True
    assert len(await notices(world.org, order_id)) == 2
    await asyncio.sleep(0.5)  # longer than a poll and a retry: a second copy would be here
    assert len(world.mailbox.to(email)) == 1
    assert len(delivered_sms(world.gateway, phone)) == 1


@pytest.mark.parametrize(
    ("reason", "template", "words"),
    [
        ("wrong_address", "failed_rescheduled", "We will come on another day"),
        ("refused", "failed_returning", "It is going back to our depot"),
        ("access_problem", "failed_reattempt_today", "We will try again later today"),
        ("business_closed", "delivered_safe_place", "was left in a safe place"),
    ],
)
async def test_each_follow_up_sends_its_own_notice(
    world: World, reason: str, template: str, words: str
) -> None:
    order_id, phone, _ = await customer_order(world)
    photos = [jpeg()] if template == "delivered_safe_place" else []
    assert (await fail(world.org.driver, order_id, reason, photos=photos)).status_code == 201
    await eventually(lambda: len(delivered_sms(world.gateway, phone)) == 1, "the SMS")
    [sms] = delivered_sms(world.gateway, phone)
    assert words in sms["body"]["text"]
    assert {r["template"] for r in await notices(world.org, order_id)} == {template}


async def test_a_busy_gateway_is_retried_and_the_customer_gets_one_sms(world: World) -> None:
    order_id, phone, _ = await customer_order(world, recipient_email=None)
    world.gateway.script[:] = [503, 503]
    assert (await fail(world.org.driver, order_id, "not_home")).status_code == 201
    await eventually(lambda: len(delivered_sms(world.gateway, phone)) == 1, "the SMS")
    with world.gateway.lock:
        tries = [r for r in world.gateway.received if r["body"]["to"] == phone]
    assert [t["status"] for t in tries] == [503, 503, 200]
    assert len({t["headers"]["Idempotency-Key"] for t in tries}) == 1
    [row] = await settled(lambda: notices(world.org, order_id))  # no email address: SMS only
    assert (row["channel"], row["status"], row["attempts"], row["last_error"]) == (
        "sms",
        "sent",
        3,
        None,
    )


async def test_an_address_the_mail_server_refuses_is_given_up_and_shown(world: World) -> None:
    order_id, phone, email = await customer_order(world)
    world.mailbox.refuse.add(email)
    assert (await fail(world.org.driver, order_id, "not_home")).status_code == 201

    await eventually(lambda: len(delivered_sms(world.gateway, phone)) == 1, "the SMS")
    rows = {r["channel"]: r for r in await settled(lambda: notices(world.org, order_id))}
    assert rows["email"]["status"] == "failed"
    assert rows["email"]["attempts"] == 1
    assert email in rows["email"]["last_error"]
    assert rows["sms"]["status"] == "sent"


async def test_only_staff_of_the_organisation_read_the_messages(world: World) -> None:
    order_id, _, _ = await customer_order(world)
    path = f"/api/v1/orders/{order_id}/notifications"
    assert (await world.org.driver.get(path)).status_code == 403
    unknown = await world.org.dispatcher.get("/api/v1/orders/999999/notifications")
    assert unknown.status_code == 404
