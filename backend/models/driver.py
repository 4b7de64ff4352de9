from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, UTCDateTime, enum_type, utcnow
from shared.enums import DriverStatus


class Driver(SQLModel, table=True):
    __tablename__ = "drivers"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="users.id", unique=True)
    name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    vehicle_id: int | None = Field(default=None, foreign_key="vehicles.id")
    status: DriverStatus = Field(
        default=DriverStatus.OFFLINE, sa_column=Column(enum_type(DriverStatus), nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
