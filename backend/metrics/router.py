"""``GET /metrics``: this process's figures in Prometheus' text format."""

import hmac
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import func
from sqlmodel import col, select

from backend.db import session_scope
from backend.deps import StateDep
from backend.errors import UnauthorizedError
from backend.models import Notification, WebhookDelivery
from shared.enums import NotificationStatus, WebhookDeliveryStatus

router = APIRouter(tags=["health"])


async def _queues(state: StateDep) -> tuple[dict[str, int], dict[str, int]]:
    """Rows waiting and rows given up on, per outbox."""
    async with session_scope(state.engine) as session:
        counts = dict(
            (
                await session.exec(
                    select(Notification.status, func.count()).group_by(col(Notification.status))
                )
            ).all()
        )
        hooks = dict(
            (
                await session.exec(
                    select(WebhookDelivery.status, func.count()).group_by(
                        col(WebhookDelivery.status)
                    )
                )
            ).all()
        )
    return (
        {
            "notifications": counts.get(NotificationStatus.PENDING, 0),
            "webhooks": hooks.get(WebhookDeliveryStatus.PENDING, 0),
        },
        {
            "notifications": counts.get(NotificationStatus.FAILED, 0),
            "webhooks": hooks.get(WebhookDeliveryStatus.FAILED, 0),
        },
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}, 401: {"description": "bad token"}},
)
async def metrics(
    state: StateDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    """Fixes received, accepted, stored and rejected by reason; open sockets by audience;
    outbox depths and failures; planning job durations. Per process: with several
    workers each reports its own (Prometheus sums them). With ``LASTMILE_METRICS_TOKEN``
    set, a scrape must send it as a bearer token."""
    token = state.settings.metrics_token
    if token is not None:
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            raise UnauthorizedError("send 'Authorization: Bearer <LASTMILE_METRICS_TOKEN>'")
    pending, failed = await _queues(state)
    state.metrics.set_queues(pending, failed)
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
