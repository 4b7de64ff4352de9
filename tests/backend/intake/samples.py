"""Shop order bodies in the shapes Shopify's and WooCommerce's webhook docs describe
(written for these tests; only the fields the intake reads, plus a few it must ignore)."""

from typing import Any


def shopify_order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": 820982911946154508,
        "name": "#1001",
        "order_number": 1001,
        "email": "Jon.Snow@Example.test",
        "phone": None,
        "note": "Leave with the concierge",
        "customer_locale": "fr",
        "cancelled_at": None,
        "financial_status": "paid",
        "total_weight": 1500,
        "currency": "EUR",
        "customer": {
            "id": 115310627314723954,
            "email": "jon.snow@example.test",
            "first_name": "Jon",
            "last_name": "Snow",
            "phone": "+377 93 15 00 01",
        },
        "shipping_address": {
            "name": "Jon Snow",
            "first_name": "Jon",
            "last_name": "Snow",
            "company": None,
            "address1": "12 Boulevard des Moulins",
            "address2": "Apt 4",
            "city": "Monaco",
            "zip": "98000",
            "province": None,
            "country": "Monaco",
            "country_code": "MC",
            "phone": "+377 93 15 00 02",
            "latitude": 43.7402,
            "longitude": 7.4276,
        },
        "billing_address": {"name": "Jon Snow", "phone": "+377 93 15 00 03"},
        "line_items": [
            {"id": 1, "title": "T-shirt", "quantity": 2, "grams": 250},
            {"id": 2, "title": "Mug", "quantity": 1, "grams": 1000},
        ],
        "shipping_lines": [{"title": "Same-day delivery", "code": "same-day", "price": "5.00"}],
    }
    order.update(overrides)
    return order


def woocommerce_order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": 727,
        "number": "727",
        "status": "processing",
        "currency": "EUR",
        "customer_note": "Gate code 4821",
        "billing": {
            "first_name": "Arya",
            "last_name": "Stark",
            "address_1": "3 Rue Grimaldi",
            "city": "Monaco",
            "postcode": "98000",
            "country": "MC",
            "email": "arya@example.test",
            "phone": "+377 93 25 00 01",
        },
        "shipping": {
            "first_name": "Arya",
            "last_name": "Stark",
            "company": "",
            "address_1": "3 Rue Grimaldi",
            "address_2": "",
            "city": "Monaco",
            "postcode": "98000",
            "state": "",
            "country": "MC",
            "phone": "",
        },
        "line_items": [{"id": 315, "name": "Woo Single", "quantity": 3, "total": "6.00"}],
        "shipping_lines": [
            {"id": 407, "method_title": "Flat rate", "method_id": "flat_rate", "total": "10.00"}
        ],
    }
    order.update(overrides)
    return order
