from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, UTCDateTime, utcnow


class Device(SQLModel, table=True):
    """A phone or GPS app bound to a driver. ``identifier`` is how the app names itself
    (OsmAnd ``id``, OwnTracks user, Overland ``device_id``), unique across the server
    because those protocols carry no organisation."""

    __tablename__ = "devices"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    driver_id: int = Field(foreign_key="drivers.id", index=True)
    identifier: str = Field(max_length=128, unique=True, index=True)
    # SHA-256 of salt + secret (hex); None: the device needs no secret.
    secret_hash: str | None = Field(default=None, max_length=64)
    secret_salt: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
