from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, UTCDateTime, utcnow


class TrackingPageView(SQLModel, table=True):
    """A visit of a customer's tracking page (``GET /api/v1/track/{token}``): one row per
    link and visitor until the page is left alone 30 minutes; ``reads`` counts the page's
    reads meanwhile (re-reads after events, polling). ``visitor`` is a keyed hash of the
    caller's address, never the address. The order and link ids are plain columns, not
    foreign keys: deleting an order keeps the record that its page was looked at."""

    __tablename__ = "tracking_page_views"
    __table_args__ = (
        Index("ix_tracking_page_views_link_visitor", "link_id", "visitor"),
        Index("ix_tracking_page_views_org_first", "org_id", "first_at"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    order_id: int = Field(index=True)
    link_id: int
    visitor: str = Field(max_length=32)
    first_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    last_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    reads: int = 1
