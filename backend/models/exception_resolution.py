from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, UTCDateTime, utcnow


class ExceptionResolution(SQLModel, table=True):
    """A dispatcher marked an item of the exceptions inbox resolved (see
    ``backend.pod.inbox``): who, when, and what they did. ``key`` is the item's stable key."""

    __tablename__ = "exception_resolutions"
    __table_args__ = (
        UniqueConstraint("org_id", "key", name="uq_exception_resolutions_org_key"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    key: str = Field(max_length=120)
    resolved_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    note: str = Field(default="", max_length=500)
    resolved_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
