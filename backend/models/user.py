from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, UTCDateTime, enum_type, utcnow
from shared.enums import Role


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    email: str = Field(max_length=320, unique=True, index=True)
    full_name: str = Field(default="", max_length=200)
    role: Role = Field(sa_column=Column(enum_type(Role), nullable=False))
    password_hash: str = Field(max_length=200)
    is_active: bool = True
    # Bumped to invalidate every refresh token issued before (sign out everywhere).
    token_version: int = 0
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
