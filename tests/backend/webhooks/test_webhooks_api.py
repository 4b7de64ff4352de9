"""``/api/v1/webhooks`` over a real server, delivering to a real receiver that checks
every signature: an order's lifecycle, the test ping, retries with their attempts, the
URL guard, who may do what."""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

from backend.config import Settings
from backend.db import create_engine, session_scope
from backend.models import WebhookDelivery
from backend.models.types import utcnow
from shared.api_client import ApiClient, ApiError
from shared.enums import WebhookDeliveryStatus, WebhookEventType
from shared.enums import WebhookEventType as E
from shared.schemas.webhooks import WebhookCreate, WebhookUpdate
from tests.backend.pod.test_pod_api import jpeg, send_pod
from tests.backend.webhooks.receiver import Receiver, run_receiver
from tests.conftest import _new_org, make_settings
from tests.factories import PASSWORD, Org, create_order
from tests.live_server import run_server


@pytest.fixture(scope="module")
def lax_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, str]]:
    """A backend whose admin allows private webhook URLs (the receiver is on 127.0.0.1),
    retrying after ~0.2 s instead of 30 s."""
    settings = make_settings(
        tmp_path_factory.mktemp("webhooks"),
        webhook_allow_private=True,
        webhook_retry_base_s=0.2,
        webhook_poll_s=0.2,
    )
    with run_server(settings) as url:
        yield settings, url


@pytest.fixture
async def lax_org(lax_server: tuple[Settings, str]) -> AsyncIterator[Org]:
    async with _new_org(*lax_server) as fresh:
        yield fresh


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with run_receiver() as found:
        yield found


async def register(client: httpx.AsyncClient, receiver: Receiver, *types: str) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "event_types": list(types)}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    receiver.secret = body["secret"]
    return body


async def eventually(check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def deliveries(client: httpx.AsyncClient, webhook_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/webhooks/{webhook_id}/deliveries")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def move(org: Org, order_id: int, to: str, **extra: Any) -> None:
    response = await org.dispatcher.post(
        f"/api/v1/orders/{order_id}/transitions", json={"to": to, **extra}
    )
    assert response.status_code == 200, response.text


async def test_an_orders_lifecycle_sends_the_subscribed_events_in_order_and_only_those(
    lax_org: Org, receiver: Receiver
) -> None:
    subscribed = ["order.created", "order.assigned", "order.en_route", "order.delivered"]
    hook = await register(lax_org.dispatcher, receiver, *subscribed, "proof.added")
    with run_receiver() as other:  # another endpoint, for failures only: hears nothing
        quiet = await register(lax_org.admin, other, "order.failed")
        order = await create_order(lax_org.dispatcher)
        await move(lax_org, order["id"], "assigned", driver_id=lax_org.driver_ids[0])
        await move(lax_org, order["id"], "en_route")
        await move(lax_org, order["id"], "arriving")  # not subscribed
        response = await send_pod(lax_org.driver, order["id"], [jpeg()])
        assert response.status_code == 201, response.text
        await eventually(lambda: len(receiver.received) >= 5)
        await asyncio.sleep(0.5)  # time for anything unwanted to arrive too
        assert other.received == []
        assert await deliveries(lax_org.dispatcher, quiet["id"]) == []
    assert receiver.types() == [*subscribed, "proof.added"]
    assert [r.signature_error for r in receiver.received] == [None] * 5
    bodies = {r.event_type: r.body for r in receiver.received}
    assert {b["data"]["order_id"] for b in bodies.values()} == {order["id"]}
    assert bodies["order.assigned"]["data"]["driver_id"] == lax_org.driver_ids[0]
    assert bodies["order.delivered"]["data"]["to_status"] == "delivered"
    assert bodies["proof.added"]["id"] != bodies["order.delivered"]["id"]  # two events
    assert "pod" in bodies["proof.added"]["data"]["details"]
    listed = await deliveries(lax_org.dispatcher, hook["id"])
    assert [d["status"] for d in listed] == ["delivered"] * 5
    assert [d["event_type"] for d in reversed(listed)] == [*subscribed, "proof.added"]


async def test_the_test_endpoint_sends_a_signed_ping(lax_org: Org, receiver: Receiver) -> None:
    hook = await register(lax_org.dispatcher, receiver, "order.created")
    response = await lax_org.dispatcher.post(f"/api/v1/webhooks/{hook['id']}/test")
    assert response.status_code == 202, response.text
    queued = response.json()
    assert (queued["event_type"], queued["status"]) == ("ping", "pending")
    await eventually(lambda: len(receiver.received) == 1)
    [ping] = receiver.received
    assert (ping.event_type, ping.delivery_id, ping.signature_error) == ("ping", queued["id"], None)
    assert ping.body["type"] == "ping"
    assert ping.body["data"]["webhook_id"] == hook["id"]


async def test_a_receiver_answering_500_then_200_is_retried_and_the_attempts_are_listed(
    lax_org: Org, receiver: Receiver
) -> None:
    receiver.statuses = [500]
    hook = await register(lax_org.dispatcher, receiver, "order.created")
    await create_order(lax_org.dispatcher)

    async def delivered() -> dict[str, Any]:
        for _ in range(300):
            [row] = await deliveries(lax_org.dispatcher, hook["id"])
            if row["status"] == "delivered":
                return row
            await asyncio.sleep(0.05)
        raise AssertionError(f"not delivered: {row}")

    row = await delivered()
    assert row["attempts"] == 2
    assert [a["status_code"] for a in row["history"]] == [500, 200]
    assert row["history"][0]["error"].startswith("HTTP 500")
    assert row["last_status_code"] == 200
    assert row["last_error"] is None
    assert [r.delivery_id for r in receiver.received] == [row["id"], row["id"]]


async def test_a_failed_delivery_can_be_sent_again_by_hand(
    lax_server: tuple[Settings, str], lax_org: Org, receiver: Receiver
) -> None:
    hook = await register(lax_org.dispatcher, receiver, "order.created")
    await lax_org.dispatcher.patch(f"/api/v1/webhooks/{hook['id']}", json={"enabled": False})
    await create_order(lax_org.dispatcher)  # a disabled endpoint gets no delivery
    assert await deliveries(lax_org.dispatcher, hook["id"]) == []
    response = await lax_org.dispatcher.post(f"/api/v1/webhooks/{hook['id']}/test")
    assert response.status_code == 409
    await lax_org.dispatcher.patch(f"/api/v1/webhooks/{hook['id']}", json={"enabled": True})
    failed_id = await _failed_delivery(lax_server[0], lax_org.id, hook["id"])
    response = await lax_org.dispatcher.post(f"/api/v1/webhooks/deliveries/{failed_id}/retry")
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    await eventually(lambda: len(receiver.received) == 1)
    await asyncio.sleep(0.2)
    [row] = await deliveries(lax_org.dispatcher, hook["id"])
    assert (row["id"], row["status"], row["attempts"]) == (failed_id, "delivered", 1)
    assert receiver.received[0].signature_error is None
    again = await lax_org.dispatcher.post(f"/api/v1/webhooks/deliveries/{failed_id}/retry")
    assert again.status_code == 409
    assert "delivered already" in again.json()["error"]["message"]


async def _failed_delivery(settings: Settings, org_id: int, endpoint_id: int) -> int:
    """A delivery whose day of retries is over, written as the worker would leave it."""
    engine = create_engine(settings.resolved_database_url)
    try:
        async with session_scope(engine) as session:
            row = WebhookDelivery(
                org_id=org_id,
                endpoint_id=endpoint_id,
                event_id="evt_old",
                event_type=WebhookEventType.ORDER_CREATED,
                payload={"id": "evt_old", "type": "order.created", "data": {}},
                status=WebhookDeliveryStatus.FAILED,
                give_up_at=utcnow() - timedelta(hours=1),
                created_at=utcnow() - timedelta(hours=25),
            )
            session.add(row)
            await session.flush()
            assert row.id is not None
            return row.id
    finally:
        await engine.dispose()


async def test_driver_status_and_route_published_are_events_too(
    lax_org: Org, receiver: Receiver
) -> None:
    await register(lax_org.admin, receiver, "driver.status_changed", "route.published")
    response = await lax_org.driver.put("/api/v1/drivers/me/status", json={"status": "idle"})
    assert response.status_code == 200, response.text
    driver_id = lax_org.driver_ids[0]
    route = await lax_org.dispatcher.post(
        "/api/v1/routes", json={"driver_id": driver_id, "service_date": date.today().isoformat()}
    )
    assert route.status_code == 201, route.text
    route_id = route.json()["id"]
    for _ in range(2):  # published twice: one event
        response = await lax_org.dispatcher.patch(
            f"/api/v1/routes/{route_id}", json={"status": "published"}
        )
        assert response.status_code == 200, response.text
    await eventually(lambda: len(receiver.received) >= 2)
    await asyncio.sleep(0.3)
    assert receiver.types() == ["driver.status_changed", "route.published"]
    status, published = sorted(receiver.received, key=lambda r: r.delivery_id)
    assert status.body["data"] | {"name": None} == {
        "driver_id": driver_id,
        "name": None,
        "from_status": "offline",
        "to_status": "idle",
    }
    assert published.body["data"]["route_id"] == route_id


async def test_a_private_url_is_refused_without_the_admin_setting(org: Org) -> None:
    for url, reason in [
        ("http://127.0.0.1:8000/hook", "loopback"),
        ("http://localhost/hook", "loopback"),
        ("http://192.168.1.20/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("ftp://example.com/hook", "only http and https"),
    ]:
        response = await org.admin.post(
            "/api/v1/webhooks", json={"url": url, "event_types": ["order.created"]}
        )
        assert response.status_code == 422, (url, response.text)
        assert reason in response.json()["error"]["message"], response.text
    assert (await org.admin.get("/api/v1/webhooks")).json() == []


async def test_the_secret_is_shown_once_and_only_staff_of_the_org_see_endpoints(
    lax_server: tuple[Settings, str], lax_org: Org, receiver: Receiver
) -> None:
    hook = await register(lax_org.dispatcher, receiver, "order.created", "order.created")
    assert hook["secret"].startswith("whsec_")
    assert len(hook["secret"]) > 40
    assert hook["event_types"] == ["order.created"]
    listed = (await lax_org.admin.get("/api/v1/webhooks")).json()
    assert [h["id"] for h in listed] == [hook["id"]]
    assert "secret" not in listed[0]
    one = await lax_org.admin.get(f"/api/v1/webhooks/{hook['id']}")
    assert one.status_code == 200
    assert "secret" not in one.json()
    assert (await lax_org.driver.get("/api/v1/webhooks")).status_code == 403
    async with _new_org(*lax_server) as stranger:
        assert (await stranger.admin.get(f"/api/v1/webhooks/{hook['id']}")).status_code == 404
        response = await stranger.admin.post(f"/api/v1/webhooks/{hook['id']}/test")
        assert response.status_code == 404
        assert (await stranger.admin.get("/api/v1/webhooks")).json() == []
    response = await lax_org.dispatcher.post(
        "/api/v1/webhooks", json={"url": receiver.url, "event_types": ["ping"]}
    )
    assert response.status_code == 422
    changed = await lax_org.dispatcher.patch(
        f"/api/v1/webhooks/{hook['id']}",
        json={"event_types": ["order.delivered"], "description": "ERP"},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["event_types"], changed.json()["description"]) == (
        ["order.delivered"],
        "ERP",
    )
    response = await lax_org.dispatcher.delete(f"/api/v1/webhooks/{hook['id']}")
    assert response.status_code == 204
    assert (await lax_org.admin.get(f"/api/v1/webhooks/{hook['id']}")).status_code == 404


async def test_the_typed_client_covers_the_webhook_api(
    lax_server: tuple[Settings, str], lax_org: Org, receiver: Receiver
) -> None:
    async with ApiClient(lax_server[1]) as api:
        await api.login(lax_org.emails["dispatcher"], PASSWORD)
        with pytest.raises(ApiError) as refused:
            await api.create_webhook(
                WebhookCreate(url="ftp://example.com/in", event_types=[E.ORDER_CREATED])
            )
        assert refused.value.status == 422
        created = await api.create_webhook(
            WebhookCreate(url=receiver.url, event_types=[E.ORDER_CREATED], description="ERP")
        )
        receiver.secret = created.secret
        assert [w.id for w in await api.list_webhooks()] == [created.id]
        ping = await api.test_webhook(created.id)
        await eventually(lambda: len(receiver.received) == 1)
        for _ in range(100):
            page = await api.webhook_deliveries(created.id, status=WebhookDeliveryStatus.DELIVERED)
            if page.total:
                break
            await asyncio.sleep(0.05)
        [delivered] = page.items
        assert (delivered.id, delivered.event_type, delivered.attempts) == (ping.id, E.PING, 1)
        assert delivered.history[0].status_code == 200
        with pytest.raises(ApiError) as again:
            await api.retry_webhook_delivery(ping.id)
        assert again.value.status == 409
        changed = await api.update_webhook(created.id, WebhookUpdate(enabled=False))
        assert changed.enabled is False
        await api.delete_webhook(created.id)
        assert await api.list_webhooks() == []
    engine = create_engine(lax_server[0].resolved_database_url)
    try:
        async with session_scope(engine) as session:
            left = await session.exec(
                select(WebhookDelivery).where(WebhookDelivery.endpoint_id == created.id)
            )
            assert left.all() == []  # the endpoint's deliveries went with it
    finally:
        await engine.dispose()
