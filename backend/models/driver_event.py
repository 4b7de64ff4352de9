from datetime import datetime
from typing import Any

from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, JSONType, UTCDateTime, enum_type, utcnow
from shared.enums import DriverEventKind


class DriverEvent(SQLModel, table=True):
    """Append-only log of what happened to a driver on the road that is not one order's
    business (left the planned route, back on it, entered a zone). Never updated."""

    __tablename__ = "driver_events"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    driver_id: int = Field(foreign_key="drivers.id", index=True)
    route_id: int | None = Field(default=None, foreign_key="routes.id")
    kind: DriverEventKind = Field(sa_column=Column(enum_type(DriverEventKind), nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    lat: float | None = None
    lng: float | None = None
    details: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
