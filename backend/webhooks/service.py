"""Registering webhook endpoints and looking at their deliveries."""

import secrets
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.errors import ConflictError, UnprocessableError
from backend.models import WebhookDelivery, WebhookEndpoint
from backend.models.types import utcnow
from backend.webhooks.outbox import enqueue, wake_after_commit
from backend.webhooks.url_guard import UnsafeUrlError, check_url
from shared.enums import WebhookDeliveryStatus, WebhookEventType
from shared.schemas.webhooks import WebhookCreate, WebhookUpdate

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


async def _checked_url(url: str, allow_private: bool) -> str:
    try:
        await check_url(url, allow_private=allow_private)
    except UnsafeUrlError as exc:
        raise UnprocessableError(f"url: {exc}", details={"field": "url"}) from None
    return url


async def create_endpoint(
    session: AsyncSession, org_id: int, body: WebhookCreate, *, allow_private: bool
) -> WebhookEndpoint:
    """A new endpoint with a fresh secret (the caller shows it once)."""
    endpoint = WebhookEndpoint(
        org_id=org_id,
        url=await _checked_url(body.url, allow_private),
        event_types=[t.value for t in body.event_types],
        description=body.description,
        enabled=body.enabled,
        secret=SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES),
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


async def update_endpoint(
    session: AsyncSession, endpoint: WebhookEndpoint, body: WebhookUpdate, *, allow_private: bool
) -> WebhookEndpoint:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    for key in ("url", "event_types", "description", "enabled"):
        if key in changes and changes[key] is None:
            raise UnprocessableError(f"{key}: may be changed, not removed")
    if "url" in changes:
        changes["url"] = await _checked_url(changes["url"], allow_private)
    if "event_types" in changes:
        changes["event_types"] = [WebhookEventType(t).value for t in changes["event_types"]]
    for key, value in changes.items():
        setattr(endpoint, key, value)
    endpoint.updated_at = utcnow()
    session.add(endpoint)
    await session.flush()
    return endpoint


async def list_endpoints(session: AsyncSession, org_id: int) -> list[WebhookEndpoint]:
    rows = await session.exec(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.org_id == org_id)
        .order_by(col(WebhookEndpoint.id))
    )
    return list(rows.all())


async def delete_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint and its deliveries (pending ones are not sent)."""
    await session.delete(endpoint)
    await session.flush()


async def list_deliveries(
    session: AsyncSession,
    endpoint_id: int,
    *,
    status: WebhookDeliveryStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[WebhookDelivery], int]:
    """The endpoint's deliveries, newest first, and how many there are."""
    conditions: list[Any] = [WebhookDelivery.endpoint_id == endpoint_id]
    if status is not None:
        conditions.append(WebhookDelivery.status == status)
    total = (
        await session.exec(select(func.count()).select_from(WebhookDelivery).where(*conditions))
    ).one()
    rows = await session.exec(
        select(WebhookDelivery)
        .where(*conditions)
        .order_by(col(WebhookDelivery.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), int(total)


async def send_test(session: AsyncSession, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A sample ``ping`` for this endpoint only, through the outbox like any event."""
    if not endpoint.enabled:
        raise ConflictError("the endpoint is disabled; enable it to send it a test event")
    data = {"webhook_id": endpoint.id, "message": "a test event from Lastmile"}
    [row] = await enqueue(
        session, endpoint.org_id, WebhookEventType.PING, data, endpoints=[endpoint]
    )
    return row


async def retry_delivery(session: AsyncSession, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now: a pending one at once, a failed one for one more
    attempt (its window does not reopen); a delivered one is refused."""
    if delivery.status is WebhookDeliveryStatus.DELIVERED:
        raise ConflictError(f"delivery {delivery.id} was delivered already")
    now = utcnow()
    if delivery.status is WebhookDeliveryStatus.FAILED:
        delivery.give_up_at = now
    delivery.status = WebhookDeliveryStatus.PENDING
    delivery.next_attempt_at = now
    session.add(delivery)
    await session.flush()
    wake_after_commit(session)
    return delivery
