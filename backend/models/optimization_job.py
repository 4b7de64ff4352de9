from datetime import date, datetime
from typing import Any

from sqlmodel import Column, Field, SQLModel

from backend.models.types import JSONType, UTCDateTime, enum_type, utcnow
from shared.schemas.optimization import OptimizationStatus


class OptimizationJob(SQLModel, table=True):
    """A planning job (``backend.optimization.jobs``), shared by every worker: the worker
    solving it writes its progress here (at most once a second) and its result at the end;
    any worker answers reads, cancels, comparisons and publishing from it. ``heartbeat_at``
    is when the solving worker last wrote: a queued or running job whose heartbeat stopped
    (the worker died) is failed by the next reader."""

    __tablename__ = "optimization_jobs"

    id: str = Field(primary_key=True, max_length=32)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    requested_by: int = Field(foreign_key="users.id")
    service_date: date
    # The OptimizationCreate as asked (JSON mode).
    request: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    status: OptimizationStatus = Field(
        default=OptimizationStatus.QUEUED,
        sa_column=Column(enum_type(OptimizationStatus), nullable=False),
    )
    percent: int = 0
    best_drive_s: int | None = None
    best_distance_m: int | None = None
    best_served: int | None = None
    order_count: int
    driver_count: int
    engine: str | None = Field(default=None, max_length=30)
    route_ids: list[int] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    # [[order_id, reason], ...]
    unassigned: list[list[Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    heartbeat_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
