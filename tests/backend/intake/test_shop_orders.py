"""Reading Shopify and WooCommerce order bodies as deliveries (pure)."""

from typing import Any

import pytest

from backend.intake.shop_orders import (
    Ignored,
    ShopDelivery,
    ShopPayloadError,
    from_shopify,
    from_woocommerce,
)
from backend.intake.signatures import sign, verify
from tests.backend.intake.samples import shopify_order, woocommerce_order


def _delivery(found: ShopDelivery | Ignored) -> ShopDelivery:
    assert isinstance(found, ShopDelivery), found
    return found


def test_a_shopify_order_becomes_a_delivery_with_its_pin() -> None:
    delivery = _delivery(from_shopify(shopify_order()))

    assert delivery.reference == "shopify-1001"
    assert delivery.source == "shopify"
    assert delivery.address == "12 Boulevard des Moulins, Apt 4, 98000 Monaco, Monaco"
    assert (delivery.lat, delivery.lng) == (43.7402, 7.4276)
    assert delivery.recipient_name == "Jon Snow"
    assert delivery.recipient_phone == "+377 93 15 00 02"  # the shipping address's first
    assert delivery.recipient_email == "jon.snow@example.test"
    assert delivery.language == "fr"
    assert delivery.weight_kg == 1.5
    assert delivery.instructions == "Leave with the concierge"
    assert delivery.notes == "Shopify order #1001 (Same-day delivery): 2 x T-shirt, 1 x Mug"
    order = delivery.order(43.7402, 7.4276)
    assert order.dropoff is not None
    assert order.dropoff.address == delivery.address
    assert (order.reference, order.weight_kg) == ("shopify-1001", 1.5)


def test_shopify_without_a_pin_or_total_weight_falls_back() -> None:
    shipping = {**shopify_order()["shipping_address"], "latitude": None, "longitude": None}
    shipping.update(phone=None, name=None, address2=None)
    delivery = _delivery(
        from_shopify(shopify_order(shipping_address=shipping, total_weight=0, email="not-an-email"))
    )

    assert (delivery.lat, delivery.lng) == (None, None)
    assert delivery.geocode_query == "12 Boulevard des Moulins, 98000 Monaco, Monaco"
    assert delivery.weight_kg == 1.5  # 2 x 250 g + 1 x 1000 g
    assert delivery.recipient_name == "Jon Snow"  # first and last name
    assert delivery.recipient_phone == "+377 93 15 00 01"  # the customer's
    assert delivery.recipient_email == "jon.snow@example.test"  # the customer's


@pytest.mark.parametrize(("lat", "lng"), [(0, 0), (91, 7.4), ("x", 7.4), (43.7, None)])
def test_a_shopify_pin_that_is_no_place_is_not_used(lat: Any, lng: Any) -> None:
    shipping = {**shopify_order()["shipping_address"], "latitude": lat, "longitude": lng}
    delivery = _delivery(from_shopify(shopify_order(shipping_address=shipping)))
    assert (delivery.lat, delivery.lng) == (None, None)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"shipping_address": None}, "no shipping address"),
        ({"cancelled_at": "2026-12-05T10:00:00+01:00"}, "cancelled"),
    ],
)
def test_shopify_orders_without_a_delivery_are_ignored(
    overrides: dict[str, Any], reason: str
) -> None:
    found = from_shopify(shopify_order(**overrides))
    assert isinstance(found, Ignored)
    assert found.reference == "shopify-1001"
    assert reason in found.reason


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([1, 2], "a JSON object was expected"),
        ({"email": "a@b.test"}, "no 'name', 'order_number' or 'id'"),
        (shopify_order(shipping_address="12 Bd des Moulins"), "'shipping_address' must be"),
        (
            shopify_order(shipping_address={"city": "Monaco", "zip": "98000"}),
            "no 'address1'",
        ),
    ],
)
def test_a_body_that_is_no_shopify_order_says_why(body: Any, message: str) -> None:
    with pytest.raises(ShopPayloadError, match=message):
        from_shopify(body)


def test_long_shop_text_is_cut_to_what_an_order_takes() -> None:
    shipping = {**shopify_order()["shipping_address"], "name": "N" * 300}
    delivery = _delivery(from_shopify(shopify_order(shipping_address=shipping, note="x" * 5000)))
    assert len(delivery.recipient_name) == 200
    assert len(delivery.instructions) == 2000
    delivery.order(1.0, 2.0)  # the order schema takes it


def test_a_woocommerce_order_becomes_a_delivery_to_geocode() -> None:
    delivery = _delivery(from_woocommerce(woocommerce_order()))

    assert delivery.reference == "woo-727"
    assert delivery.source == "woocommerce"
    assert delivery.address == "3 Rue Grimaldi, 98000 Monaco, MC"
    assert delivery.geocode_query == "3 Rue Grimaldi, 98000 Monaco, MC"
    assert (delivery.lat, delivery.lng) == (None, None)
    assert delivery.recipient_name == "Arya Stark"
    assert delivery.recipient_phone == "+377 93 25 00 01"  # billing's: shipping has none
    assert delivery.recipient_email == "arya@example.test"
    assert delivery.instructions == "Gate code 4821"
    assert delivery.notes == "WooCommerce order #727 (Flat rate): 3 x Woo Single"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"status": "pending"}, "'pending'"),
        ({"status": "cancelled"}, "'cancelled'"),
        (
            {"shipping_lines": [{"method_id": "local_pickup", "method_title": "Pickup"}]},
            "local pickup",
        ),
        ({"shipping": {**woocommerce_order()["shipping"], "address_1": ""}}, "no shipping"),
        ({"shipping": []}, "no shipping"),
    ],
)
def test_woocommerce_orders_without_a_delivery_are_ignored(
    overrides: dict[str, Any], reason: str
) -> None:
    found = from_woocommerce(woocommerce_order(**overrides))
    assert isinstance(found, Ignored)
    assert found.reference == "woo-727"
    assert reason in found.reason


def test_a_body_that_is_no_woocommerce_order_says_why() -> None:
    with pytest.raises(ShopPayloadError, match="no 'number' or 'id'"):
        from_woocommerce({"status": "processing"})


def test_signatures_are_base64_hmac_sha256_of_the_raw_body() -> None:
    # RFC 4231 test case 2, base64-encoded.
    assert sign("Jefe", b"what do ya want for nothing?") == (
        "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
    )
    assert verify(
        "Jefe", b"what do ya want for nothing?", sign("Jefe", b"what do ya want for nothing?")
    )
    assert not verify(
        "Jefe", b"what do ya want for nothing!", sign("Jefe", b"what do ya want for nothing?")
    )
    assert not verify("other", b"body", sign("Jefe", b"body"))
    assert not verify("Jefe", b"body", "not base64 at all")
