from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, JSONType, UTCDateTime, enum_type, utcnow
from shared.enums import ZoneKind


class Zone(SQLModel, table=True):
    """An area an admin drew: a polygon or a corridor; the organisation's drivers are
    checked against the active ones (``backend.geofencing.org_fences``)."""

    __tablename__ = "zones"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    name: str = Field(max_length=200)
    kind: ZoneKind = Field(sa_column=Column(enum_type(ZoneKind), nullable=False))
    # [[lat, lng], ...] in WGS84 degrees: a polygon's outline (not closed) or a corridor's line.
    points: list[list[float]] = Field(sa_column=Column(JSONType, nullable=False))
    width_m: float | None = None  # corridors: the full width, centred on the line
    active: bool = True
    dwell_s: float | None = None  # inside this long: a dwell; None: never
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
