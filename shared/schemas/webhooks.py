"""Webhooks: an organisation's endpoints for events, and the deliveries to them."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, field_validator

from shared.enums import WebhookDeliveryStatus, WebhookEventType
from shared.schemas.common import OutModel, StrictModel

Url = Annotated[
    str,
    Field(
        min_length=8,
        max_length=2000,
        description="http(s) URL the events are POSTed to; it must reach a public address "
        "unless the deployment allows private ones",
    ),
]
EventTypes = Annotated[
    list[WebhookEventType],
    Field(min_length=1, max_length=50, description="the event types this endpoint hears of"),
]
Description = Annotated[str, Field(max_length=500)]


def _subscribable(types: list[WebhookEventType] | None) -> list[WebhookEventType] | None:
    if types is None:
        return None
    if WebhookEventType.PING in types:
        raise ValueError("'ping' is only sent by the test endpoint; it cannot be subscribed to")
    return list(dict.fromkeys(types))  # duplicates dropped, order kept


class WebhookCreate(StrictModel):
    url: Url
    event_types: EventTypes
    description: Description = ""
    enabled: bool = True

    _types = field_validator("event_types")(_subscribable)


class WebhookUpdate(StrictModel):
    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = None

    _types = field_validator("event_types")(_subscribable)


class WebhookOut(OutModel):
    id: int
    url: str
    event_types: list[WebhookEventType]
    description: str
    enabled: bool
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    """The new endpoint with its signing secret: shown this once, keep it."""

    secret: str


class WebhookAttemptOut(OutModel):
    attempt: int
    at: datetime
    status_code: int | None = Field(description="the receiver's answer; None: no answer")
    error: str | None
    duration_ms: int


class WebhookDeliveryOut(OutModel):
    id: int = Field(description="also in the Lastmile-Delivery header: dedupe on it")
    endpoint_id: int
    event_id: str
    event_type: WebhookEventType
    payload: dict[str, Any]
    status: WebhookDeliveryStatus
    attempts: int
    history: list[WebhookAttemptOut] = Field(description="every attempt, oldest first")
    next_attempt_at: datetime
    give_up_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
