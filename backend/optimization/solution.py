"""What a solver returns: routes of timed stops, and every job it could not place, with why."""

from dataclasses import dataclass
from enum import StrEnum


class StopKind(StrEnum):
    PICKUP = "pickup"
    DELIVERY = "delivery"


class Unassigned(StrEnum):
    """Why a job is in no route."""

    NO_VEHICLE_WITH_SKILLS = "no_vehicle_with_skills"
    OVER_CAPACITY = "over_capacity"  # larger than any vehicle
    WINDOW_UNREACHABLE = "window_unreachable"  # no vehicle can get there within its window
    NO_ROOM = "no_room"  # feasible alone, but not with the other jobs in the time/capacity


@dataclass(frozen=True, slots=True)
class PlannedStop:
    job_id: str
    kind: StopKind
    location: int
    arrival_s: int  # when the vehicle gets there
    start_s: int  # when service starts (after waiting for the window to open)


@dataclass(frozen=True, slots=True)
class PlannedRoute:
    vehicle_id: str
    stops: tuple[PlannedStop, ...]
    start_s: int  # leaves its start location
    end_s: int  # arrives at its end location (or finishes its last stop)
    duration_s: int  # drive time only
    distance_m: int


@dataclass(frozen=True, slots=True)
class Solution:
    routes: tuple[PlannedRoute, ...]
    unassigned: tuple[tuple[str, Unassigned], ...]
    engine: str
    runtime_s: float

    @property
    def drive_s(self) -> int:
        return sum(r.duration_s for r in self.routes)

    @property
    def distance_m(self) -> int:
        return sum(r.distance_m for r in self.routes)
