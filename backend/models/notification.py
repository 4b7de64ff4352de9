from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, UTCDateTime, enum_type, utcnow
from shared.enums import NotificationChannel, NotificationStatus


class Notification(SQLModel, table=True):
    """One message to one customer, written in the same transaction as what caused it
    (the outbox) and sent afterwards by the notification worker (see
    ``backend.notifications``). The text is rendered when it is queued, so what was sent
    is what is stored."""

    __tablename__ = "notifications"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    order_id: int | None = Field(default=None, foreign_key="orders.id", index=True)
    channel: NotificationChannel = Field(
        sa_column=Column(enum_type(NotificationChannel), nullable=False)
    )
    recipient: str = Field(max_length=320)
    template: str = Field(max_length=64)
    language: str = Field(max_length=16)
    subject: str = Field(default="", max_length=300)
    body: str
    status: NotificationStatus = Field(
        default=NotificationStatus.PENDING,
        sa_column=Column(enum_type(NotificationStatus), nullable=False, index=True),
    )
    attempts: int = 0
    # Not sent before this time (retries back off); a worker holds a claimed row until
    # ``claimed_until``: if it dies meanwhile, another worker takes the row after that.
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    claimed_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    last_error: str | None = Field(default=None, max_length=500)
    # What the message is about, once per channel: a second queueing of it is ignored.
    dedupe_key: str = Field(max_length=200, unique=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
