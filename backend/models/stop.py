from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, UTCDateTime, enum_type
from shared.enums import StopKind


class Stop(SQLModel, table=True):
    """A place an order must be served at: its pickup or its dropoff."""

    __tablename__ = "stops"
    __table_args__ = (
        UniqueConstraint("order_id", "kind", name="uq_stops_order_kind"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    kind: StopKind = Field(sa_column=Column(enum_type(StopKind), nullable=False))
    address: str = Field(max_length=500)
    lat: float
    lng: float
    window_start: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    window_end: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    service_time_s: int = 120
    arrival_radius_m: float | None = None  # None: the server's default arrival fence
    route_id: int | None = Field(default=None, foreign_key="routes.id", index=True)
    sequence: int | None = None
    planned_arrival_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # The ETA last published (backend.eta.live): changes of a minute or more only.
    eta_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    actual_arrival_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    actual_departure_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
