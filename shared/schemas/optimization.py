"""Planning jobs: ask for a plan of the day, watch its progress, get draft routes."""

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from shared.schemas.common import OutModel, StrictModel, UtcDatetime


class OptimizationStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OptimizationCreate(StrictModel):
    """Plan ``service_date``: these orders (default: every unassigned order whose stops are on
    no route) over these drivers (default: all), starting and ending at ``depot_id`` (default:
    each vehicle's depot). Produces draft routes."""

    service_date: date
    order_ids: list[int] | None = Field(default=None, max_length=5000)
    driver_ids: list[int] | None = Field(default=None, max_length=500)
    depot_id: int | None = None
    time_budget_s: float = Field(default=10.0, ge=0.5, le=300)
    shift_start: UtcDatetime | None = Field(default=None, description="default 06:00 UTC")
    shift_end: UtcDatetime | None = Field(default=None, description="default 22:00 UTC")
    max_stops_per_route: int | None = Field(default=None, ge=1, le=1000)
    break_minutes: int = Field(default=0, ge=0, le=240, description="each driver's pause")
    break_window_start: UtcDatetime | None = Field(
        default=None, description="the pause starts no earlier (default 11:00 UTC)"
    )
    break_window_end: UtcDatetime | None = Field(
        default=None, description="and no later than this (default 14:00 UTC)"
    )
    minimise_vehicles: bool = False
    open_routes: bool = Field(default=False, description="routes end at their last stop")
    engine: Literal["auto", "pyvrp", "ortools"] = Field(
        default="auto", description="auto: the server's LASTMILE_OPTIMIZER_ENGINE"
    )

    @model_validator(mode="after")
    def _shift_in_order(self) -> "OptimizationCreate":
        if self.shift_start and self.shift_end and self.shift_end <= self.shift_start:
            raise ValueError("shift_end must be after shift_start")
        window = (self.break_window_start, self.break_window_end)
        if window[0] and window[1] and window[1] < window[0]:
            raise ValueError("break_window_end must not be before break_window_start")
        return self


class BestSoFar(BaseModel):
    drive_s: int
    distance_m: int
    served: int


class UnassignedOrder(BaseModel):
    order_id: int
    reason: str


class OptimizationOut(OutModel):
    id: str
    status: OptimizationStatus
    percent: int
    best: BestSoFar | None
    order_count: int
    driver_count: int
    engine: str | None
    route_ids: list[int]
    unassigned: list[UnassignedOrder]
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class PlacementCreate(StrictModel):
    """Place one order into today's active (published or running) routes."""

    order_id: int
    apply: bool = Field(
        default=False, description="false: only propose; true: assign and resequence now"
    )


class PlacementOut(BaseModel):
    order_id: int
    placed: bool
    route_id: int | None
    driver_id: int | None
    stop_ids: list[int] = Field(description="the route's whole new stop sequence")
    added_drive_s: int
    moved_order_ids: list[int] = Field(description="other orders resequenced to make room")
    applied: bool
    reason: str | None = Field(description="why it could not be placed")


class DelayCreate(StrictModel):
    """A driver running late on a route: re-plan what the delay puts out of reach."""

    route_id: int
    minutes: int = Field(ge=1, le=600)
    apply: bool = Field(
        default=False,
        description="dispatchers: move the orders now (automatic with auto-dispatch on)",
    )


class DelayOut(BaseModel):
    route_id: int
    delay_s: int
    late_order_ids: list[int] = Field(description="drop-offs the delay makes miss their window")
    moves: list[PlacementOut] = Field(description="where each of them could go instead")


class PlanSide(BaseModel):
    """One side of a comparison: a plan of the day walked on the road network."""

    routes: int
    stops: int
    distance_m: int
    drive_s: int = Field(description="driving only")
    working_s: int = Field(description="from leaving the depot to the end: drive, waits, service")
    late_stops: int = Field(description="stops reached after their window's end")
    late_order_ids: list[int]
    unassigned: list[UnassignedOrder] = Field(description="orders of the day on no route, why")


class OptimizationComparison(BaseModel):
    """A finished plan's proposal (its draft routes) against the day's current plan (its
    published and running routes), both timed the same way."""

    optimization_id: str
    service_date: date
    current: PlanSide
    proposal: PlanSide


class OptimizationPublished(BaseModel):
    optimization_id: str
    route_ids: list[int] = Field(description="the draft routes now published")
