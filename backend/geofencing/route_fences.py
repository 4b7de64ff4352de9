"""The fences of a driver's route: an arrival circle around every unfinished stop and a
wider "nearby" circle around every unfinished drop-off (the customer's "arriving" alert).

Pure code: :func:`route_fences` builds them from the stops; loading the stops is
:mod:`backend.geofencing.route_stops`.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from backend.geofencing.engine import Fence
from backend.geofencing.shapes import Circle
from shared.enums import OrderStatus, StopKind
from shared.geo import Point, haversine_m

REACH_MARGIN_M = 50.0  # around where a vehicle parks for an address off the road

Purpose = Literal["arrival", "nearby"]


@dataclass(frozen=True, slots=True)
class FenceRadii:
    arrival_m: float = 150.0
    nearby_m: float = 500.0
    dwell_s: float = 60.0  # at a stop this long: "at stop"

    def __post_init__(self) -> None:
        if not 0 < self.arrival_m < self.nearby_m:
            raise ValueError("the nearby radius must be wider than the arrival radius (> 0)")


@dataclass(frozen=True, slots=True)
class OpenStop:
    """An unfinished stop of a driver's route today, as fences, automatic status and ETAs
    need it. Times are epoch seconds."""

    stop_id: int
    order_id: int
    kind: StopKind
    lat: float
    lng: float
    arrival_m: float | None = None  # this stop's own radius; None: the default
    order_status: OrderStatus | None = None
    route_id: int | None = None
    service_s: float = 120.0
    window_start: float | None = None
    window_end: float | None = None
    arrived_at: float | None = None  # seen arriving (geofencing) or confirmed there
    park: Point | None = None  # where a vehicle gets to, when the address is off the road
    reach_m: float = 0.0  # how far that is from the stop's point

    def arrival_radius(self, default_m: float) -> float:
        """The stop's own radius (or the default), wide enough to take in where a vehicle
        can park (:mod:`backend.geofencing.reach`)."""
        radius = self.arrival_m or default_m
        return max(radius, self.reach_m + REACH_MARGIN_M) if self.reach_m else radius

    def distance_m(self, at: Point) -> float:
        """From ``at`` to the stop: to its point, or to where a vehicle parks for it."""
        here = haversine_m(at, Point(self.lat, self.lng))
        return min(here, haversine_m(at, self.park)) if self.park is not None else here


STOP_PREFIX = "stop:"


def stop_key(stop_id: int, purpose: Purpose) -> str:
    return f"stop:{stop_id}:{purpose}"


def parse_stop_key(key: str) -> tuple[int, Purpose] | None:
    """``(stop_id, purpose)`` of a key made by :func:`stop_key`, else None."""
    parts = key.split(":")
    if len(parts) != 3 or parts[0] != "stop" or not parts[1].isdigit():
        return None
    if parts[2] == "arrival":
        return int(parts[1]), "arrival"
    if parts[2] == "nearby":
        return int(parts[1]), "nearby"
    return None


def route_fences(driver_id: int, stops: Iterable[OpenStop], radii: FenceRadii) -> list[Fence]:
    fences: list[Fence] = []
    for stop in stops:
        at = Point(stop.lat, stop.lng)
        arrival = stop.arrival_radius(radii.arrival_m)
        fences.append(
            Fence(
                stop_key(stop.stop_id, "arrival"),
                Circle(at, arrival),
                driver_id=driver_id,
                dwell_s=radii.dwell_s,
            )
        )
        if stop.kind is StopKind.DROPOFF:
            fences.append(
                Fence(
                    stop_key(stop.stop_id, "nearby"),
                    Circle(at, max(radii.nearby_m, 2 * arrival)),
                    driver_id=driver_id,
                    dwell_s=radii.dwell_s,
                )
            )
    return fences
