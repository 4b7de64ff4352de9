from datetime import date, datetime

from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, UTCDateTime, enum_type, utcnow
from shared.enums import RouteStatus


class Route(SQLModel, table=True):
    """One driver's day (or shift). Its stops carry ``route_id`` and ``sequence``."""

    __tablename__ = "routes"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    driver_id: int = Field(foreign_key="drivers.id", index=True)
    vehicle_id: int | None = Field(default=None, foreign_key="vehicles.id")
    service_date: date = Field(index=True)
    status: RouteStatus = Field(
        default=RouteStatus.DRAFT, sa_column=Column(enum_type(RouteStatus), nullable=False)
    )
    planned_start_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    planned_end_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    actual_start_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    actual_end_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
