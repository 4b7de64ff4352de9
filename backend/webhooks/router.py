"""``/api/v1/webhooks``: the organisation's webhook endpoints and their deliveries
(admins and dispatchers)."""

from typing import Annotated

from fastapi import APIRouter, Query

from backend.crud import get_in_org
from backend.deps import SessionDep, SettingsDep, StaffUser
from backend.models import WebhookDelivery, WebhookEndpoint
from backend.responses import ERRORS
from backend.webhooks import service
from shared.enums import WebhookDeliveryStatus
from shared.schemas.common import Page
from shared.schemas.webhooks import (
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryOut,
    WebhookOut,
    WebhookUpdate,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post("", response_model=WebhookCreated, status_code=201, responses=ERRORS(401, 403, 422))
async def create_webhook(
    body: WebhookCreate, staff: StaffUser, session: SessionDep, settings: SettingsDep
) -> WebhookEndpoint:
    """Register a URL for some event types. The answer holds the signing ``secret``, this
    once: keep it to check the ``Lastmile-Signature`` of every delivery. A URL that is
    not http(s) or reaches a loopback, private, link-local or other non-public address is
    refused (422) unless the deployment allows private addresses."""
    return await service.create_endpoint(
        session, staff.org_id, body, allow_private=settings.webhook_allow_private
    )


@router.get("", response_model=list[WebhookOut], responses=ERRORS(401, 403))
async def list_webhooks(staff: StaffUser, session: SessionDep) -> list[WebhookEndpoint]:
    """The organisation's endpoints (without their secrets)."""
    return await service.list_endpoints(session, staff.org_id)


@router.get("/{webhook_id}", response_model=WebhookOut, responses=ERRORS(401, 403, 404))
async def get_webhook(webhook_id: int, staff: StaffUser, session: SessionDep) -> WebhookEndpoint:
    """One endpoint of the organisation (without its secret)."""
    return await get_in_org(session, WebhookEndpoint, webhook_id, staff.org_id, label="webhook")


@router.patch("/{webhook_id}", response_model=WebhookOut, responses=ERRORS(401, 403, 404, 422))
async def update_webhook(
    webhook_id: int,
    body: WebhookUpdate,
    staff: StaffUser,
    session: SessionDep,
    settings: SettingsDep,
) -> WebhookEndpoint:
    """Change the URL (checked as at registration), the event types, the description, or
    switch the endpoint off and on; the secret stays."""
    endpoint = await get_in_org(session, WebhookEndpoint, webhook_id, staff.org_id, label="webhook")
    return await service.update_endpoint(
        session, endpoint, body, allow_private=settings.webhook_allow_private
    )


@router.delete("/{webhook_id}", status_code=204, responses=ERRORS(401, 403, 404))
async def delete_webhook(webhook_id: int, staff: StaffUser, session: SessionDep) -> None:
    """Remove an endpoint with its deliveries; pending ones are not sent."""
    endpoint = await get_in_org(session, WebhookEndpoint, webhook_id, staff.org_id, label="webhook")
    await service.delete_endpoint(session, endpoint)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=Page[WebhookDeliveryOut],
    responses=ERRORS(401, 403, 404, 422),
)
async def list_deliveries(
    webhook_id: int,
    staff: StaffUser,
    session: SessionDep,
    status: WebhookDeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[WebhookDeliveryOut]:
    """The endpoint's deliveries, newest first, each with every attempt made (when, the
    receiver's status code or the error, how long it took)."""
    await get_in_org(session, WebhookEndpoint, webhook_id, staff.org_id, label="webhook")
    rows, total = await service.list_deliveries(
        session, webhook_id, status=status, limit=limit, offset=offset
    )
    return Page[WebhookDeliveryOut](
        items=[WebhookDeliveryOut.model_validate(r) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post(
    "/{webhook_id}/test",
    response_model=WebhookDeliveryOut,
    status_code=202,
    responses=ERRORS(401, 403, 404, 409),
)
async def test_webhook(webhook_id: int, staff: StaffUser, session: SessionDep) -> WebhookDelivery:
    """Send the endpoint a sample ``ping`` event, signed and retried like any other; the
    answer is the queued delivery (follow it in the deliveries list)."""
    endpoint = await get_in_org(session, WebhookEndpoint, webhook_id, staff.org_id, label="webhook")
    return await service.send_test(session, endpoint)


@router.post(
    "/deliveries/{delivery_id}/retry",
    response_model=WebhookDeliveryOut,
    status_code=202,
    responses=ERRORS(401, 403, 404, 409),
)
async def retry_delivery(
    delivery_id: int, staff: StaffUser, session: SessionDep
) -> WebhookDelivery:
    """Send a delivery again now: a pending one without waiting for its backoff, a
    failed one for one more attempt. A delivered one is refused (409)."""
    delivery = await get_in_org(
        session, WebhookDelivery, delivery_id, staff.org_id, label="webhook delivery"
    )
    return await service.retry_delivery(session, delivery)
