from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, UTCDateTime, utcnow


class TrackingLink(SQLModel, table=True):
    """An unguessable token that lets one customer see one order until it expires."""

    __tablename__ = "tracking_links"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    token: str = Field(max_length=64, unique=True, index=True)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revoked: bool = False
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
