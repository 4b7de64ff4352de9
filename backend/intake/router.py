"""``/api/v1/intake``: order webhooks from a shop (Shopify, WooCommerce), signed with the
organisation's ``shop_webhook_secret`` instead of a bearer token."""

from typing import Annotated, Any
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Header, Request, Response

from backend.deps import SessionDep, SettingsDep
from backend.errors import UnauthorizedError, UnprocessableError
from backend.intake import service, shop_orders, signatures
from backend.intake.shop_orders import Ignored, ShopPayloadError
from backend.locations.ingest_support import read_body
from backend.responses import ERRORS
from shared.schemas.intake import ShopIntakeResult

router = APIRouter(prefix="/intake", tags=["intake"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"model": ShopIntakeResult, "description": "A delivery order was created"},
    **ERRORS(401, 404, 409, 413, 422),
    503: {"description": "The geocoder did not answer: nothing stored; send it again later"},
}
SHOPIFY_SIGNATURE = "X-Shopify-Hmac-Sha256"
# A shop order with hundreds of line items stays well under this; read before any check.
MAX_BODY_BYTES = 2 * 1024 * 1024
WOOCOMMERCE_SIGNATURE = "X-WC-Webhook-Signature"


@router.post("/shopify/{org_slug}", response_model=ShopIntakeResult, responses=_RESPONSES)
async def shopify_order(
    org_slug: str,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    signature: Annotated[str | None, Header(alias=SHOPIFY_SIGNATURE)] = None,
    topic: Annotated[str | None, Header(alias="X-Shopify-Topic")] = None,
) -> ShopIntakeResult:
    """A Shopify order webhook (topics ``orders/create``, ``orders/updated``,
    ``orders/paid``; JSON). ``X-Shopify-Hmac-Sha256`` must be the body signed with the
    organisation's shop webhook secret (401 otherwise; 404 when the organisation has
    none). Answers 201 ``created``; 200 ``duplicate`` when the order was received before,
    ``ignored`` when it needs no delivery (no shipping address, cancelled) or the topic
    carries no order. A body that is no Shopify order is a 422; an address without
    coordinates that the geocoder cannot find a 422, no geocoder a 409, a geocoder that
    does not answer a 503 (nothing is stored; Shopify sends it again later)."""
    body = await read_body(request, MAX_BODY_BYTES)
    org_id = await _verified(session, org_slug, body, signature, SHOPIFY_SIGNATURE)
    if topic is not None and topic not in shop_orders.SHOPIFY_TOPICS:
        return _ignored(f"the topic '{topic}' carries no new order")
    return await _receive(session, settings, response, org_id, body, shop_orders.from_shopify)


@router.post("/woocommerce/{org_slug}", response_model=ShopIntakeResult, responses=_RESPONSES)
async def woocommerce_order(
    org_slug: str,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    signature: Annotated[str | None, Header(alias=WOOCOMMERCE_SIGNATURE)] = None,
    topic: Annotated[str | None, Header(alias="X-WC-Webhook-Topic")] = None,
) -> ShopIntakeResult:
    """A WooCommerce order webhook (topics ``order.created``, ``order.updated``; JSON),
    signed in ``X-WC-Webhook-Signature``; answered as for Shopify. The unsigned test
    delivery WooCommerce sends when a webhook is saved (a form body ``webhook_id=N``)
    is answered 200 ``ping`` and stores nothing. Orders not paid yet (pending, on hold)
    are ignored: subscribe to ``order.updated`` too, and they come once processing."""
    body = await read_body(request, MAX_BODY_BYTES)
    if _is_ping(body):
        return ShopIntakeResult(status="ping", reason="WooCommerce's test delivery")
    org_id = await _verified(session, org_slug, body, signature, WOOCOMMERCE_SIGNATURE)
    if topic is not None and topic not in shop_orders.WOOCOMMERCE_TOPICS:
        return _ignored(f"the topic '{topic}' carries no new order")
    return await _receive(session, settings, response, org_id, body, shop_orders.from_woocommerce)


async def _verified(
    session: SessionDep, slug: str, body: bytes, signature: str | None, header: str
) -> int:
    """The id of the organisation ``body`` was signed for, or a 401 (404: no intake)."""
    if not signature:
        raise UnauthorizedError(
            f"the {header} header is missing: shop orders must be signed with the "
            "organisation's shop webhook secret",
            code="signature_missing",
        )
    org, secret = await service.organization_with_secret(session, slug)
    if not signatures.verify(secret, body, signature):
        raise UnauthorizedError(
            f"{header} does not match the body: the secret in the shop must be the "
            "organisation's shop_webhook_secret, and the body must arrive unchanged",
            code="signature_mismatch",
        )
    assert org.id is not None
    return org.id


def _is_ping(body: bytes) -> bool:
    try:
        form = parse_qs(body.decode("ascii"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    return set(form) == {"webhook_id"}


def _ignored(reason: str, reference: str | None = None) -> ShopIntakeResult:
    return ShopIntakeResult(status="ignored", reference=reference, reason=reason)


async def _receive(
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    org_id: int,
    body: bytes,
    read: shop_orders.Reader,
) -> ShopIntakeResult:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UnprocessableError(
            f"the body is not JSON ({exc}): the shop's webhook format must be JSON",
            code="invalid_shop_order",
        ) from exc
    try:
        delivery = read(payload)
    except ShopPayloadError as exc:
        raise UnprocessableError(str(exc), code="invalid_shop_order") from exc
    if isinstance(delivery, Ignored):
        return _ignored(delivery.reason, delivery.reference)
    result = await service.receive(session, settings, org_id, delivery)
    if result.status == "created":
        response.status_code = 201
    return result
