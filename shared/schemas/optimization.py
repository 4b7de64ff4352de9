"""Planning jobs: ask for a plan of the day, watch its progress, get draft routes."""

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from shared.enums import RouteStatus, StopKind
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


class SequenceIn(StrictModel):
    """A driver's stops still to do on the day, in the wanted order (the stops done or
    being driven to keep their place before them)."""

    driver_id: int
    stop_ids: list[int] = Field(max_length=2000)


class ChangeCreate(StrictModel):
    """A dispatcher's change to the day: give orders to a driver (each placed where it
    delays that route least) and/or set drivers' stop orders, previewed or applied. A
    ``driver_id`` alone shows that driver's day as it is (to start reordering it)."""

    order_ids: list[int] = Field(default_factory=list, max_length=500)
    driver_id: int | None = Field(default=None, description="who takes ``order_ids``")
    sequences: list[SequenceIn] = Field(default_factory=list, max_length=100)
    service_date: date | None = Field(default=None, description="default: today (UTC)")
    apply: bool = Field(
        default=False, description="false: only preview; true: apply and publish to the drivers"
    )

    @model_validator(mode="after")
    def _orders_need_a_driver(self) -> "ChangeCreate":
        if self.order_ids and self.driver_id is None:
            raise ValueError("driver_id: say which driver takes the orders")
        if not self.order_ids and not self.sequences and self.driver_id is None:
            raise ValueError("nothing to change: give order_ids and a driver_id, or sequences")
        return self


class StopChange(BaseModel):
    """A stop of a changed route, with its arrival before and after the change."""

    stop_id: int
    order_id: int
    reference: str | None
    recipient_name: str
    kind: StopKind
    address: str
    window_start: UtcDatetime | None
    window_end: UtcDatetime | None
    eta_before: UtcDatetime | None = Field(description="None: not on this route before")
    eta_after: UtcDatetime | None = Field(description="None: done, or leaves this route")
    late_before_s: int | None = Field(description="seconds past the window's end; None: in time")
    late_after_s: int | None
    locked: bool = Field(description="done or being driven to: keeps its place")
    added: bool = Field(description="joins this route with the change")


class RouteChange(BaseModel):
    route_id: int | None = Field(description="None: a new route, created when applied")
    driver_id: int
    status: RouteStatus | None
    stops: list[StopChange] = Field(description="the route after the change, in order")
    removed: list[StopChange] = Field(description="stops leaving this route")
    drive_s_before: int
    drive_s_after: int
    late_before: int = Field(description="stops past their window before the change")
    late_after: int


class ChangeOut(BaseModel):
    service_date: date
    routes: list[RouteChange]
    applied: bool
