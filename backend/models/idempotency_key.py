from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, JSONType, UTCDateTime, utcnow


class IdempotencyKey(SQLModel, table=True):
    """An ``Idempotency-Key`` an organisation's client sent with a request that creates
    something, and the answer it got: the same key again gets the same answer, once the
    first request has finished (see ``backend.orders.idempotency``)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("org_id", "key", name="uq_idempotency_keys_org_key"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    key: str = Field(max_length=255)
    request: str = Field(max_length=200, description="method and path")
    request_hash: str = Field(max_length=64, description="SHA-256 of the body")
    status_code: int
    response: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )
