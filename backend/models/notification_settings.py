"""An organisation's customer-notice settings, its own templates, and who opted out.

See ``backend.notifications``: which triggers send, how many minutes before arrival the
"arriving" notice goes, the quiet hours (held until they end), the default language.
"""

from datetime import datetime

from sqlalchemy import Boolean, UniqueConstraint, true
from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, JSONType, UTCDateTime, utcnow


class NotificationSettings(SQLModel, table=True):
    """One row per organisation that changed the defaults (no row: every default)."""

    __tablename__ = "notification_settings"

    org_id: int = Field(foreign_key="organizations.id", primary_key=True)
    # The trigger names that send (see backend.notifications.triggers.Trigger).
    enabled_triggers: list[str] = Field(sa_column=Column(JSONType, nullable=False))
    arriving_minutes: int = 10
    # Local "HH:MM" in ``timezone``; both None: no quiet hours.
    quiet_start: str | None = Field(default=None, max_length=5)
    quiet_end: str | None = Field(default=None, max_length=5)
    timezone: str = Field(default="UTC", max_length=64)
    default_language: str | None = Field(default=None, max_length=16)
    # The "scheduled" notice creates a tracking link when the order has none live.
    auto_tracking_links: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=true())
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class NotificationTemplate(SQLModel, table=True):
    """An organisation's own text for one notice in one language (checked when saved)."""

    __tablename__ = "notification_templates"
    __table_args__ = (
        UniqueConstraint("org_id", "key", "language", name="uq_notification_templates_key"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    key: str = Field(max_length=64)
    language: str = Field(max_length=16)
    subject: str = Field(max_length=300)
    email: str
    sms: str
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class NotificationOptOut(SQLModel, table=True):
    """A phone number or email address that gets no more notices from the organisation."""

    __tablename__ = "notification_opt_outs"
    __table_args__ = (
        UniqueConstraint("org_id", "address", name="uq_notification_opt_outs_address"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    address: str = Field(max_length=320)  # as normalised by outbox.normalise_address
    order_id: int | None = Field(default=None, foreign_key="orders.id")  # where it came from
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
