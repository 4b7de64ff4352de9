from datetime import datetime

from shared.enums import NotificationChannel, NotificationStatus
from shared.schemas.common import OutModel


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
