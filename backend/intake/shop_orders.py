"""A shop's order webhook (Shopify, WooCommerce) read as a delivery: pure, no I/O.

:func:`from_shopify` and :func:`from_woocommerce` take the decoded JSON body and answer a
:class:`ShopDelivery` (an order to deliver, perhaps still without coordinates), or an
:class:`Ignored` for an order that needs no delivery (nothing to ship, collected in store,
cancelled, not paid yet). A body that is not an order of that shop raises
:class:`ShopPayloadError`, whose message says what is wrong.

Free text is cut to the lengths an order takes, and a customer email the order schema
would refuse is left out: a shop's order is not refused for a detail the delivery can
do without.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.schemas.orders import OrderCreate, StopIn

SHOPIFY = "shopify"
WOOCOMMERCE = "woocommerce"
# Webhook topics that carry an order to deliver; any other topic is answered "ignored".
SHOPIFY_TOPICS = frozenset({"orders/create", "orders/updated", "orders/paid"})
WOOCOMMERCE_TOPICS = frozenset({"order.created", "order.updated"})
# WooCommerce order statuses that are not (yet) to be delivered: unpaid, stopped, gone.
WOOCOMMERCE_SKIPPED = frozenset(
    {"pending", "on-hold", "failed", "cancelled", "refunded", "trash", "draft", "checkout-draft"}
)
WOOCOMMERCE_PICKUP_METHODS = frozenset({"local_pickup", "pickup_location"})

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
MAX_WEIGHT_KG = 50_000.0


class ShopPayloadError(ValueError):
    """The body is not an order this shop sends (the message says what is missing)."""


@dataclass(frozen=True, slots=True)
class Ignored:
    """An order of the shop that needs no delivery, and why."""

    reference: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class ShopDelivery:
    """A shop's order to deliver. ``lat``/``lng`` (WGS84 degrees) are None when the shop
    sent none: the address must be geocoded (``geocode_query``) first."""

    source: str
    reference: str
    address: str
    geocode_query: str
    lat: float | None
    lng: float | None
    recipient_name: str
    recipient_phone: str | None
    recipient_email: str | None
    language: str | None
    weight_kg: float
    notes: str
    instructions: str

    def order(self, lat: float, lng: float) -> OrderCreate:
        """The delivery order, dropping off at (``lat``, ``lng``)."""
        return OrderCreate(
            reference=self.reference,
            dropoff=StopIn(address=self.address, lat=lat, lng=lng),
            recipient_name=self.recipient_name,
            recipient_phone=self.recipient_phone,
            recipient_email=self.recipient_email,
            language=self.language,
            weight_kg=self.weight_kg,
            notes=self.notes,
            instructions=self.instructions,
        )


def from_shopify(payload: Any) -> ShopDelivery | Ignored:
    """A Shopify order (``orders/create``, ``orders/updated``, ``orders/paid`` body)."""
    order = _order_object(payload, "Shopify")
    name = _text(order.get("name")) or _text(order.get("order_number")) or _text(order.get("id"))
    if name is None:
        raise ShopPayloadError("not a Shopify order: it has no 'name', 'order_number' or 'id'")
    reference = _cut(f"shopify-{name.lstrip('#').strip()}", 100)
    if order.get("cancelled_at"):
        return Ignored(reference, "the order was cancelled in the shop")
    shipping = _section(order, "shipping_address")
    if shipping is None or not any(_text(shipping.get(k)) for k in ("address1", "city", "zip")):
        return Ignored(
            reference,
            "the order has no shipping address: nothing to deliver (digital "
            "goods, or collected in store)",
        )
    street = _text(shipping.get("address1"))
    if street is None:
        raise ShopPayloadError(f"order {name}: the shipping address has no 'address1'")
    customer = _section(order, "customer") or {}
    billing = _section(order, "billing_address") or {}
    zip_city = _join(" ", shipping.get("zip"), shipping.get("city"))
    country = _text(shipping.get("country")) or _text(shipping.get("country_code"))
    lat, lng = _coordinates(shipping.get("latitude"), shipping.get("longitude"))
    items = _items(order.get("line_items"), "title")
    shipping_lines = order.get("shipping_lines")
    method = None
    if isinstance(shipping_lines, list) and shipping_lines and isinstance(shipping_lines[0], dict):
        method = _text(shipping_lines[0].get("title"))
    return ShopDelivery(
        source=SHOPIFY,
        reference=reference,
        address=_cut(
            _join(
                ", ", street, shipping.get("address2"), zip_city, shipping.get("province"), country
            ),
            500,
        ),
        geocode_query=_join(", ", street, zip_city, shipping.get("province"), country),
        lat=lat,
        lng=lng,
        recipient_name=_name(
            _text(shipping.get("name")),
            _join(" ", shipping.get("first_name"), shipping.get("last_name")),
            _text(shipping.get("company")),
            _join(" ", customer.get("first_name"), customer.get("last_name")),
            fallback=f"Shopify order {name}",
        ),
        recipient_phone=_phone(
            shipping.get("phone"), customer.get("phone"), order.get("phone"), billing.get("phone")
        ),
        recipient_email=_email(
            order.get("email"), order.get("contact_email"), customer.get("email")
        ),
        language=_language(order.get("customer_locale")),
        weight_kg=_shopify_weight_kg(order),
        notes=_notes(f"Shopify order {name}", items, method),
        instructions=_cut(_text(order.get("note")) or "", 2000),
    )


def from_woocommerce(payload: Any) -> ShopDelivery | Ignored:
    """A WooCommerce order (``order.created`` or ``order.updated`` body, REST API v3 shape)."""
    order = _order_object(payload, "WooCommerce")
    number = _text(order.get("number")) or _text(order.get("id"))
    if number is None:
        raise ShopPayloadError("not a WooCommerce order: it has no 'number' or 'id'")
    reference = _cut(f"woo-{number.lstrip('#').strip()}", 100)
    status = _text(order.get("status"))
    if status in WOOCOMMERCE_SKIPPED:
        return Ignored(
            reference,
            f"the order is '{status}' in the shop: delivered once it is processing "
            "(an 'order updated' webhook brings it then)",
        )
    lines = order.get("shipping_lines")
    if isinstance(lines, list) and any(
        isinstance(line, dict) and line.get("method_id") in WOOCOMMERCE_PICKUP_METHODS
        for line in lines
    ):
        return Ignored(reference, "the customer collects the order (local pickup)")
    shipping = _section(order, "shipping")
    if shipping is None or not _text(shipping.get("address_1")):
        return Ignored(
            reference,
            "the order has no shipping address: nothing to deliver (virtual or downloadable goods)",
        )
    street = _text(shipping.get("address_1"))
    assert street is not None
    billing = _section(order, "billing") or {}
    zip_city = _join(" ", shipping.get("postcode"), shipping.get("city"))
    method = None
    if isinstance(lines, list) and lines and isinstance(lines[0], dict):
        method = _text(lines[0].get("method_title"))
    return ShopDelivery(
        source=WOOCOMMERCE,
        reference=reference,
        address=_cut(
            _join(
                ", ",
                street,
                shipping.get("address_2"),
                zip_city,
                shipping.get("state"),
                shipping.get("country"),
            ),
            500,
        ),
        geocode_query=_join(", ", street, zip_city, shipping.get("country")),
        lat=None,
        lng=None,
        recipient_name=_name(
            _join(" ", shipping.get("first_name"), shipping.get("last_name")),
            _text(shipping.get("company")),
            _join(" ", billing.get("first_name"), billing.get("last_name")),
            fallback=f"WooCommerce order #{number}",
        ),
        recipient_phone=_phone(shipping.get("phone"), billing.get("phone")),
        recipient_email=_email(billing.get("email")),
        language=None,
        weight_kg=0.0,  # WooCommerce's order body carries no weights
        notes=_notes(
            f"WooCommerce order #{number}", _items(order.get("line_items"), "name"), method
        ),
        instructions=_cut(_text(order.get("customer_note")) or "", 2000),
    )


def _order_object(payload: Any, shop: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ShopPayloadError(f"the body is not a {shop} order: a JSON object was expected")
    return payload


def _section(order: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = order.get(key)
    if value is None or value == [] or value == {}:
        return None
    if not isinstance(value, dict):
        raise ShopPayloadError(f"'{key}' must be an object, not {type(value).__name__}")
    return value


def _text(value: Any) -> str | None:
    """Stripped text of a string or number; None for anything else or blank."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value).strip()
    return text or None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _join(separator: str, *parts: Any) -> str:
    return separator.join(t for t in map(_text, parts) if t)


def _name(*candidates: str | None, fallback: str) -> str:
    return _cut(next((c for c in candidates if c), fallback), 200)


def _phone(*candidates: Any) -> str | None:
    found = next((t for t in map(_text, candidates) if t), None)
    return None if found is None else _cut(found, 40)


def _email(*candidates: Any) -> str | None:
    for text in map(_text, candidates):
        if text and len(text) <= 320 and _EMAIL.match(text):
            return text.lower()
    return None


def _language(value: Any) -> str | None:
    text = _text(value)
    return text if text and _LANGUAGE.match(text) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _coordinates(lat: Any, lng: Any) -> tuple[float | None, float | None]:
    """The shop's pin, unless missing, out of range, or (0, 0): a default, not a place."""
    y, x = _number(lat), _number(lng)
    if y is None or x is None or not (-90 <= y <= 90 and -180 <= x <= 180) or y == x == 0:
        return None, None
    return y, x


def _shopify_weight_kg(order: dict[str, Any]) -> float:
    """``total_weight`` (grams), else the line items' ``grams`` x ``quantity``."""
    grams = _number(order.get("total_weight"))
    if grams is None or grams <= 0:
        grams = 0.0
        items = order.get("line_items")
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                grams += max(0.0, _number(item.get("grams")) or 0.0) * max(
                    0.0, _number(item.get("quantity")) or 0.0
                )
    return round(min(grams / 1000, MAX_WEIGHT_KG), 3)


def _items(line_items: Any, title_key: str) -> list[str]:
    """``["2 x T-shirt", ...]`` from the order's line items."""
    found = []
    for item in line_items if isinstance(line_items, list) else []:
        if not isinstance(item, dict):
            continue
        title = _text(item.get(title_key)) or _text(item.get("name")) or "item"
        quantity = _number(item.get("quantity"))
        count = int(quantity) if quantity is not None and quantity >= 0 else 1
        found.append(f"{count} x {title}")
    return found


def _notes(heading: str, items: list[str], method: str | None) -> str:
    text = heading
    if method:
        text += f" ({method})"
    if items:
        text += ": " + ", ".join(items)
    return _cut(text, 2000)


type Reader = Callable[[Any], ShopDelivery | Ignored]
""":func:`from_shopify` or :func:`from_woocommerce`."""
