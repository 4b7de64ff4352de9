"""Receiving a shop's order: which organisation, once only, placed on the map, created.

Raises AppErrors; never commits. A shop order becomes at most one delivery order:

* an order of the organisation with the same reference (``shopify-1001``) answers
  ``duplicate`` with its id, whether the shop or a person created it;
* the shop order's reference is also claimed as an idempotency key
  (``shop-order:shopify-1001``) in the transaction that creates the order: of two
  deliveries of the same order racing each other, the second gets a 409 and nothing is
  stored (the shop retries and then hears ``duplicate``); and an order a dispatcher
  deleted or renamed is not brought back by a resend within the key's 24 hours.
"""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.errors import ConflictError, NotFoundError, UnavailableError, UnprocessableError
from backend.geocoding.service import geocode
from backend.intake.shop_orders import ShopDelivery
from backend.models import Order, Organization
from backend.orders import idempotency
from backend.orders.service import create_system_orders
from shared.schemas.intake import ShopIntakeResult

_REQUEST = "POST /intake"


async def organization_with_secret(session: AsyncSession, slug: str) -> tuple[Organization, str]:
    """The organisation at ``slug`` and its shop webhook secret; a 404 when there is no
    such organisation or it has none (the same answer: which slugs exist is not told)."""
    org = (await session.exec(select(Organization).where(Organization.slug == slug))).first()
    if org is None or not org.shop_webhook_secret:
        raise NotFoundError(
            f"no shop order intake at '{slug}': the organisation does not exist or has no "
            "shop webhook secret (an admin sets shop_webhook_secret on the organisation)",
            code="shop_intake_not_configured",
        )
    return org, org.shop_webhook_secret


async def receive(
    session: AsyncSession, settings: Settings, org_id: int, delivery: ShopDelivery
) -> ShopIntakeResult:
    """Create the delivery order for ``delivery``, or answer which order it already is."""
    reference = delivery.reference
    existing = (
        await session.exec(
            select(Order.id)
            .where(Order.org_id == org_id, Order.reference == reference)
            .order_by(col(Order.id))
        )
    ).first()
    if existing is not None:
        return ShopIntakeResult(status="duplicate", order_id=existing, reference=reference)
    key = f"shop-order:{reference}"
    fingerprint = idempotency.digest({"reference": reference})
    seen = await idempotency.replay(session, org_id, key, _REQUEST, fingerprint)
    if seen is not None:
        return ShopIntakeResult(
            status="duplicate",
            order_id=seen.body.get("order_id") if isinstance(seen.body, dict) else None,
            reference=reference,
            reason="received before; the order it became was deleted or renamed since",
        )
    lat, lng = await _place(settings, delivery)
    [order] = await create_system_orders(
        session, org_id, [delivery.order(lat, lng)], source=delivery.source
    )
    await idempotency.remember(
        session, org_id, key, _REQUEST, fingerprint, 201, {"order_id": order.id}
    )
    return ShopIntakeResult(status="created", order_id=order.id, reference=reference)


async def _place(settings: Settings, delivery: ShopDelivery) -> tuple[float, float]:
    """The shop's pin, else the geocoder's best match for the address (WGS84 degrees)."""
    if delivery.lat is not None and delivery.lng is not None:
        return delivery.lat, delivery.lng
    what = f"shop order {delivery.reference} ({delivery.address!r})"
    try:
        found = await geocode(settings, delivery.geocode_query)
    except ConflictError as exc:  # no geocoder configured
        raise ConflictError(
            f"{what} comes without coordinates and this server has no geocoder "
            "(LASTMILE_GEOCODER) to find them: nothing was stored; configure one, or "
            "create the order by hand",
            code=exc.code,
        ) from exc
    except UnavailableError as exc:
        raise UnavailableError(
            f"{what} comes without coordinates and the geocoder did not answer: nothing "
            "was stored; send it again later",
            code=exc.code,
        ) from exc
    if not found:
        raise UnprocessableError(
            f"the geocoder does not know the address of {what}: nothing was stored; "
            "create the order by hand with the place pinned on the map",
            code="address_not_found",
        )
    return found[0].lat, found[0].lon
