from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, UTCDateTime, utcnow


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
