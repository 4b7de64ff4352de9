from datetime import datetime

from pydantic import ConfigDict, Field, field_validator, model_validator

from shared.enums import NotificationChannel, NotificationStatus
from shared.schemas.common import OutModel, StrictModel


class NotificationOut(OutModel):
    """A message to the customer: what was (or will be) sent, where, and how it went."""

    id: int
    order_id: int | None
    channel: NotificationChannel
    recipient: str
    template: str
    language: str
    subject: str
    body: str
    status: NotificationStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


NOTICE_TRIGGERS = (
    "scheduled",
    "out_for_delivery",
    "arriving",
    "delivered",
    "failed",
    "rescheduled",
)


class NotificationSettingsIn(StrictModel):
    """An organisation's customer-notice settings (every field replaces the stored one)."""

    enabled_triggers: list[str] = Field(
        default_factory=lambda: list(NOTICE_TRIGGERS),
        description="the triggers that send: " + ", ".join(NOTICE_TRIGGERS),
    )
    arriving_minutes: int = Field(
        default=10, ge=1, le=120, description="the 'arriving' notice goes this long before"
    )
    quiet_start: str | None = Field(
        default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="local HH:MM"
    )
    quiet_end: str | None = Field(
        default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="local HH:MM"
    )
    timezone: str = Field(default="UTC", max_length=64, description="IANA, e.g. Europe/Paris")
    default_language: str | None = Field(
        default=None,
        min_length=2,
        max_length=16,
        description="None: the deployment's LASTMILE_NOTIFY_LANGUAGE",
    )
    auto_tracking_links: bool = Field(
        default=True,
        description="the 'scheduled' notice creates a tracking link when the order has none",
    )

    @field_validator("enabled_triggers")
    @classmethod
    def _known_triggers(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(NOTICE_TRIGGERS))
        if unknown:
            raise ValueError(f"unknown trigger(s) {', '.join(unknown)}")
        return sorted(set(value), key=NOTICE_TRIGGERS.index)

    @model_validator(mode="after")
    def _both_ends(self) -> "NotificationSettingsIn":
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("quiet hours need both quiet_start and quiet_end (or neither)")
        return self


class NotificationSettingsOut(NotificationSettingsIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")


class NotificationTemplateIn(StrictModel):
    """An organisation's own text for one notice in one language (Jinja2). Only the
    notice variables may be used: an unknown one is refused when saved (422)."""

    subject: str = Field(min_length=1, max_length=300)
    email: str = Field(min_length=1, max_length=10_000)
    sms: str = Field(min_length=1, max_length=1_000)


class NotificationTemplateOut(NotificationTemplateIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    key: str
    language: str
    custom: bool = Field(description="the organisation's own text (false: the default)")
