from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer
from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, JSONType, UTCDateTime, enum_type, utcnow
from shared.enums import WebhookDeliveryStatus, WebhookEventType


class WebhookEndpoint(SQLModel, table=True):
    """A URL of an organisation's own system that hears of the event types it subscribed
    to (``backend.webhooks``). The secret signs every delivery; it is made here and shown
    once, when the endpoint is registered."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=500)
    # WebhookEventType values.
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    secret: str = Field(max_length=100)
    enabled: bool = True
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: written in the transaction of the event (the outbox),
    POSTed afterwards by the webhook worker, retried with backoff until ``give_up_at``.
    ``history`` lists every attempt: ``{at, status_code, error, duration_ms}``."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    endpoint_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    # The same for every endpoint that hears of one event: receivers may dedupe on it.
    event_id: str = Field(max_length=40)
    event_type: WebhookEventType = Field(
        sa_column=Column(enum_type(WebhookEventType, length=40), nullable=False)
    )
    payload: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    status: WebhookDeliveryStatus = Field(
        default=WebhookDeliveryStatus.PENDING,
        sa_column=Column(enum_type(WebhookDeliveryStatus), nullable=False, index=True),
    )
    attempts: int = 0
    history: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    # As in the notification outbox: not sent before ``next_attempt_at``; a worker holds a
    # claimed row until ``claimed_until`` (if it dies, another takes the row after that).
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    claimed_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    # A failed attempt at or after this time is the last one: the delivery is ``failed``.
    give_up_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    delivered_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
