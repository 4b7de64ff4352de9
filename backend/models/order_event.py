from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, JSONType, UTCDateTime, enum_type, utcnow
from shared.enums import EventKind, OrderStatus, Role


class OrderEvent(SQLModel, table=True):
    """Append-only timeline of an order: who did what, when and where. Never updated."""

    __tablename__ = "order_events"
    __table_args__ = (
        # The KPIs count a range of days' events (backend.kpis): a year of them is millions.
        # Covering: the KPI queries read these columns only, never the rows (2x on a year).
        Index(
            "ix_order_events_org_at",
            "org_id",
            "at",
            "kind",
            "to_status",
            "actor_user_id",
            "order_id",
        ),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    kind: EventKind = Field(sa_column=Column(enum_type(EventKind), nullable=False))
    from_status: OrderStatus | None = Field(default=None, sa_column=Column(enum_type(OrderStatus)))
    to_status: OrderStatus | None = Field(default=None, sa_column=Column(enum_type(OrderStatus)))
    actor_user_id: int | None = Field(default=None, foreign_key="users.id")
    actor_role: Role | None = Field(default=None, sa_column=Column(enum_type(Role)))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    lat: float | None = None
    lng: float | None = None
    details: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
