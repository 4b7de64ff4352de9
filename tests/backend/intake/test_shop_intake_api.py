"""``POST /api/v1/intake/{shopify,woocommerce}/{slug}`` over real HTTP: signed shop orders
become delivery orders; a second backend has a fake Nominatim (real socket) to geocode."""

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from backend.config import Settings
from backend.intake.signatures import sign
from tests.backend.intake.samples import shopify_order, woocommerce_order
from tests.backend.test_geocode_api import FakeNominatim
from tests.conftest import _new_org, make_settings
from tests.factories import Org
from tests.live_server import run_server

SECRET = "shpss_0123456789abcdef0123456789abcdef"
# In FakeNominatim's world, "moulins" is Boulevard des Moulins, "explode" a 500, else nothing.
MOULINS = {**woocommerce_order()["shipping"], "address_1": "12 Boulevard des Moulins"}


@pytest.fixture(scope="module")
def geo_url(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second backend on the session's database, geocoding with the fake Nominatim."""
    nominatim = ThreadingHTTPServer(("127.0.0.1", 0), FakeNominatim)
    threading.Thread(target=nominatim.serve_forever, daemon=True).start()
    data_dir: Path = tmp_path_factory.mktemp("intake")
    configured = make_settings(
        data_dir,
        database_url=settings.resolved_database_url,
        geocoder="nominatim",
        geocoder_url=f"http://127.0.0.1:{nominatim.server_address[1]}",
    )
    try:
        with run_server(configured) as url:
            yield url
    finally:
        nominatim.shutdown()
        nominatim.server_close()


@pytest.fixture(scope="module")
async def shop(settings: Settings, geo_url: str) -> AsyncIterator[Org]:
    """One organisation with intake set up; each test uses its own order numbers."""
    async with _new_org(settings, geo_url) as org:
        response = await org.admin.patch(
            "/api/v1/organization", json={"shop_webhook_secret": SECRET}
        )
        assert response.status_code == 200, response.text
        yield org


@pytest.fixture
async def anonymous(geo_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=geo_url) as client:
        yield client


async def send(
    client: httpx.AsyncClient,
    shop_kind: str,
    slug: str,
    order: Any,
    *,
    secret: str | None = SECRET,
    topic: str | None = None,
) -> httpx.Response:
    body = orjson.dumps(order)
    header = "X-Shopify-Hmac-Sha256" if shop_kind == "shopify" else "X-WC-Webhook-Signature"
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[header] = sign(secret, body)
    if topic is not None:
        headers["X-Shopify-Topic" if shop_kind == "shopify" else "X-WC-Webhook-Topic"] = topic
    return await client.post(f"/api/v1/intake/{shop_kind}/{slug}", content=body, headers=headers)


async def orders_with(org: Org, reference: str) -> list[dict[str, Any]]:
    response = await org.dispatcher.get("/api/v1/orders", params={"q": reference})
    assert response.status_code == 200, response.text
    return [o for o in response.json()["items"] if o["reference"] == reference]


async def test_a_signed_shopify_order_becomes_a_delivery_order(
    shop: Org, anonymous: httpx.AsyncClient
) -> None:
    response = await send(
        anonymous, "shopify", shop.slug, shopify_order(name="#2001"), topic="orders/create"
    )

    assert response.status_code == 201, response.text
    result = response.json()
    assert result["status"] == "created"
    assert result["reference"] == "shopify-2001"
    [order] = await orders_with(shop, "shopify-2001")
    assert order["id"] == result["order_id"]
    assert order["recipient_name"] == "Jon Snow"
    assert order["recipient_phone"] == "+377 93 15 00 02"
    assert order["recipient_email"] == "jon.snow@example.test"
    assert order["weight_kg"] == 1.5
    assert order["instructions"] == "Leave with the concierge"
    [stop] = order["stops"]
    assert stop["kind"] == "dropoff"
    assert stop["address"] == "12 Boulevard des Moulins, Apt 4, 98000 Monaco, Monaco"
    assert (stop["lat"], stop["lng"]) == (43.7402, 7.4276)
    events = (await shop.dispatcher.get(f"/api/v1/orders/{order['id']}/events")).json()
    assert [(e["kind"], e["actor_user_id"], e["details"]) for e in events] == [
        ("created", None, {"source": "shopify"})
    ]


async def test_the_same_shop_order_twice_is_one_delivery_order(
    shop: Org, anonymous: httpx.AsyncClient
) -> None:
    first = await send(anonymous, "shopify", shop.slug, shopify_order(name="#2002"))
    again = await send(
        anonymous, "shopify", shop.slug, shopify_order(name="#2002"), topic="orders/updated"
    )

    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "duplicate"
    assert again.json()["order_id"] == first.json()["order_id"]
    assert len(await orders_with(shop, "shopify-2002")) == 1


async def test_a_deleted_shop_order_is_not_brought_back_by_a_resend(
    shop: Org, anonymous: httpx.AsyncClient
) -> None:
    first = await send(anonymous, "shopify", shop.slug, shopify_order(name="#2003"))
    order_id = first.json()["order_id"]
    assert (await shop.dispatcher.delete(f"/api/v1/orders/{order_id}")).status_code == 204

    again = await send(anonymous, "shopify", shop.slug, shopify_order(name="#2003"))

    assert again.status_code == 200, again.text
    assert again.json()["status"] == "duplicate"
    assert await orders_with(shop, "shopify-2003") == []


@pytest.mark.parametrize(
    ("secret", "code"),
    [(None, "signature_missing"), ("wrong-secret-0123456789", "signature_mismatch")],
)
async def test_an_unsigned_or_wrongly_signed_order_is_refused_and_not_stored(
    shop: Org, anonymous: httpx.AsyncClient, secret: str | None, code: str
) -> None:
    response = await send(
        anonymous, "shopify", shop.slug, shopify_order(name="#2004"), secret=secret
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert "X-Shopify-Hmac-Sha256" in response.json()["error"]["message"]
    assert await orders_with(shop, "shopify-2004") == []


async def test_a_body_changed_after_signing_is_refused(
    shop: Org, anonymous: httpx.AsyncClient
) -> None:
    body = orjson.dumps(shopify_order(name="#2005"))
    response = await anonymous.post(
        f"/api/v1/intake/shopify/{shop.slug}",
        content=body.replace(b"Jon Snow", b"Jon Snoe"),
        headers={"X-Shopify-Hmac-Sha256": sign(SECRET, body)},
    )
    assert response.status_code == 401
    assert await orders_with(shop, "shopify-2005") == []


async def test_orders_needing_no_delivery_are_answered_and_not_stored(
    shop: Org, anonymous: httpx.AsyncClient
) -> None:
    digital = await send(
        anonymous, "shopify", shop.slug, shopify_order(name="#2006", shipping_address=None)
    )
    refund = await send(
        anonymous, "shopify", shop.slug, shopify_order(name="#2007"), topic="refunds/create"
    )
    unpaid = await send(
        anonymous, "woocommerce", shop.slug, woocommerce_order(number="2008", status="pending")
    )

    assert digital.status_code == 200, digital.text
    assert digital.json() == {
        "status": "ignored",
        "order_id": None,
        "reference": "shopify-2006",
        "reason": "the order has no shipping address: nothing to deliver (digital goods, "
        "or collected in store)",
    }
    assert refund.json()["status"] == "ignored"
    assert "refunds/create" in refund.json()["reason"]
    assert unpaid.json()["status"] == "ignored"
    for reference in ("shopify-2006", "shopify-2007", "woo-2008"):
        assert await orders_with(shop, reference) == []


async def test_a_body_that_is_no_order_is_a_422_in_words(
    shop: Org, anonymous: httpx.AsyncClient
) -> None:
    not_json = b"<order/>"
    response = await anonymous.post(
        f"/api/v1/intake/shopify/{shop.slug}",
        content=not_json,
        headers={"X-Shopify-Hmac-Sha256": sign(SECRET, not_json)},
    )
    no_street = await send(
        anonymous,
        "shopify",
        shop.slug,
        shopify_order(name="#2009", shipping_address={"city": "Monaco", "zip": "98000"}),
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_shop_order"
    assert "not JSON" in response.json()["error"]["message"]
    assert no_street.status_code == 422
    assert "no 'address1'" in no_street.json()["error"]["message"]


async def test_woocommerce_ping_is_answered_and_stores_nothing(
    shop: Org, anonymous: httpx.AsyncClient
) -> None:
    response = await anonymous.post(
        f"/api/v1/intake/woocommerce/{shop.slug}",
        content=b"webhook_id=17",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ping"
    assert response.json()["order_id"] is None


async def test_a_woocommerce_order_is_placed_by_the_geocoder(
    shop: Org, anonymous: httpx.AsyncClient
) -> None:
    response = await send(
        anonymous,
        "woocommerce",
        shop.slug,
        woocommerce_order(number="2010", shipping=MOULINS),
        topic="order.created",
    )

    assert response.status_code == 201, response.text
    [order] = await orders_with(shop, "woo-2010")
    assert order["recipient_name"] == "Arya Stark"
    assert order["instructions"] == "Gate code 4821"
    [stop] = order["stops"]
    assert stop["address"] == "12 Boulevard des Moulins, 98000 Monaco, MC"
    assert (stop["lat"], stop["lng"]) == (43.7402, 7.4276)
    assert "12 Boulevard des Moulins, 98000 Monaco, MC" in FakeNominatim.queries
    events = (await shop.dispatcher.get(f"/api/v1/orders/{order['id']}/events")).json()
    assert events[0]["details"] == {"source": "woocommerce"}


@pytest.mark.parametrize(
    ("street", "status", "code"),
    [
        ("1 Nowhere Street", 422, "address_not_found"),
        ("1 explode street", 503, "geocoder_unavailable"),
    ],
)
async def test_an_address_that_cannot_be_placed_stores_nothing(
    shop: Org, anonymous: httpx.AsyncClient, street: str, status: int, code: str
) -> None:
    shipping = {**MOULINS, "address_1": street}
    response = await send(
        anonymous,
        "woocommerce",
        shop.slug,
        woocommerce_order(number=f"21{status}", shipping=shipping),
    )

    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert "woo-21" in error["message"]
    assert await orders_with(shop, f"woo-21{status}") == []


async def test_without_a_geocoder_an_order_without_coordinates_waits_for_a_retry(
    org: Org, base_url: str
) -> None:
    await org.admin.patch("/api/v1/organization", json={"shop_webhook_secret": SECRET})
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await send(client, "woocommerce", org.slug, woocommerce_order(number="2201"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_geocoder"
    assert "LASTMILE_GEOCODER" in response.json()["error"]["message"]
    assert await orders_with(org, "woo-2201") == []


async def test_the_secret_is_write_only_and_intake_needs_one(org: Org, base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        order = shopify_order(name="#2301")
        refused = await send(client, "shopify", org.slug, order)
        unknown = await send(client, "shopify", "no-such-organisation", order)
        unsigned = await send(client, "shopify", "no-such-organisation", order, secret=None)

        before = (await org.admin.get("/api/v1/organization")).json()
        too_short = await org.admin.patch(
            "/api/v1/organization", json={"shop_webhook_secret": "short"}
        )
        by_dispatcher = await org.dispatcher.patch(
            "/api/v1/organization", json={"shop_webhook_secret": SECRET}
        )
        patched = await org.admin.patch(
            "/api/v1/organization", json={"shop_webhook_secret": SECRET}
        )
        after = (await org.dispatcher.get("/api/v1/organization")).json()
        accepted = await send(client, "shopify", org.slug, order)
        off = await org.admin.patch("/api/v1/organization", json={"shop_webhook_secret": ""})
        after_off = await send(client, "shopify", org.slug, shopify_order(name="#2302"))

    assert refused.status_code == unknown.status_code == 404
    assert refused.json()["error"]["code"] == unknown.json()["error"]["code"]
    assert "shop_webhook_secret" in refused.json()["error"]["message"]
    assert unsigned.status_code == 401
    assert before["shop_webhook_configured"] is False
    assert too_short.status_code == 422
    assert by_dispatcher.status_code == 403
    assert patched.status_code == 200
    assert patched.json()["shop_webhook_configured"] is True
    assert after["shop_webhook_configured"] is True
    for answer in (before, patched.json(), after, off.json()):
        assert SECRET not in orjson.dumps(answer).decode()
        assert "shop_webhook_secret" not in answer
    assert accepted.status_code == 201, accepted.text
    assert off.json()["shop_webhook_configured"] is False
    assert after_off.status_code == 404


async def test_an_oversized_body_is_refused_before_anything_else(
    shop: Org, anonymous: httpx.AsyncClient
) -> None:
    response = await anonymous.post(
        f"/api/v1/intake/shopify/{shop.slug}", content=b" " * (3 * 1024 * 1024)
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
