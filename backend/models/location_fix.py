from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, UTCDateTime


class LocationFix(SQLModel, table=True):
    """Location history: every accepted fix, written in batches, kept for the retention
    period. Units: WGS84 degrees, m/s, degrees from north, metres, percent."""

    __tablename__ = "location_fixes"
    __table_args__ = (
        Index("ix_location_fixes_driver_recorded", "driver_id", "recorded_at"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    driver_id: int = Field(foreign_key="drivers.id")
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    lat: float
    lng: float
    speed_mps: float | None = None
    heading_deg: float | None = None
    accuracy_m: float | None = None
    altitude_m: float | None = None
    battery: float | None = None
    source: str = Field(default="app", max_length=16)
