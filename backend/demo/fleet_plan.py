"""The demo fleet's decisions, pure (no I/O): which deliveries fail and why, which stops of a
published route are still to drive, the driver's plan, and the clock that plays it.

Everything is decided from the seed and the order ids, never from the order the drivers
happen to run in: the same seed fails the same deliveries with the same reasons, also after
a restart of the demo (a stop already finished is skipped, the rest is decided as before).
"""

import hashlib
import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from backend.routing.results import Route
from backend.simulator.gps import Fix
from backend.simulator.runner import DriverPlan, PlannedStop
from shared.enums import OrderStatus, StopKind
from shared.failures import FailureReason
from shared.geo import Point
from shared.lifecycle import DRIVER_TARGETS, TERMINAL, allowed_targets
from shared.schemas.fleet import RouteOut
from shared.schemas.locations import FixIn
from shared.schemas.orders import OrderOut, StopOut
from shared.schemas.routing import RouteOut as RoadRoute

S = OrderStatus

# Once the order is here the stop needs no visit (as the driver app's ``logic.stops``).
_PICKUP_DONE = frozenset(
    {S.PICKED_UP, S.EN_ROUTE, S.ARRIVING} | TERMINAL | {S.FAILED, S.RESCHEDULED}
)
_DROPOFF_DONE = TERMINAL | {S.FAILED, S.RESCHEDULED}

# Why a simulated delivery fails, with what the driver writes: the reasons couriers see
# most. Reattempt-today and next-day follow-ups both occur (see ``shared.failures``).
FAILURES: tuple[tuple[FailureReason, str], ...] = (
    (FailureReason.NOT_HOME, "Rang twice and called, nobody answered."),
    (FailureReason.BUSINESS_CLOSED, "Shop shut, sign says back tomorrow."),
    (FailureReason.ACCESS_PROBLEM, "Gate code refused, concierge not in the lodge."),
    (FailureReason.WRONG_ADDRESS, "No such flat number in this building."),
)


def _unit(seed: int, *parts: object) -> float:
    """A stable number in [0, 1) for ``(seed, *parts)``: the same on every run and machine
    (``hash()`` of a string changes between processes)."""
    text = ":".join(str(p) for p in (seed, *parts))
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def choose_failures(order_ids: Iterable[int], share: float, seed: int) -> frozenset[int]:
    """The orders whose delivery fails: ``share`` of them, rounded up (a share above zero
    fails at least one), drawn by the seed."""
    if not 0.0 <= share <= 1.0:
        raise ValueError("share must be between 0 and 1")
    ids = sorted(set(order_ids))
    count = min(len(ids), math.ceil(share * len(ids) - 1e-9))
    return frozenset(sorted(ids, key=lambda i: _unit(seed, "fail", i))[:count])


def failure_for(order_id: int, seed: int) -> tuple[FailureReason, str]:
    """The reason (and the driver's note) of a failing delivery."""
    return FAILURES[int(_unit(seed, "reason", order_id) * len(FAILURES))]


@dataclass(frozen=True, slots=True)
class StopTodo:
    """A stop still to be driven to, with its order as the driver sees it."""

    stop: StopOut
    order: OrderOut

    @property
    def point(self) -> Point:
        return Point(self.stop.lat, self.stop.lng)

    @property
    def pickup(self) -> bool:
        return self.stop.kind is StopKind.PICKUP


def stops_to_drive(route: RouteOut, orders: Mapping[int, OrderOut]) -> list[StopTodo]:
    """The route's stops in sequence, less those already done (a restarted demo) and those
    whose order the driver no longer has."""
    todo = []
    stops = sorted(route.stops, key=lambda s: (s.sequence is None, s.sequence or 0, s.id))
    for stop in stops:
        order = orders.get(stop.order_id)
        if order is None:
            continue
        done = _PICKUP_DONE if stop.kind is StopKind.PICKUP else _DROPOFF_DONE
        if order.status in done or order.status is S.CREATED:
            continue
        todo.append(StopTodo(stop, order))
    return todo


def plan_for(
    driver_id: int, start: Point, todo: Sequence[StopTodo], start_at: datetime
) -> DriverPlan:
    """Drive from ``start`` through ``todo`` in order. Time windows are not waited for: the
    demo's clock runs faster than the windows' (real) one."""
    if not todo:
        raise ValueError("a plan needs at least one stop")
    stops = tuple(PlannedStop(t.point, float(t.stop.service_time_s)) for t in todo)
    return DriverPlan(driver_id=driver_id, start=start, stops=stops, start_at=start_at)


def as_route(road: RoadRoute) -> Route:
    """The API's road route as the simulator's routing result."""
    return Route(
        duration_s=road.duration_s,
        distance_m=road.distance_m,
        geometry=[Point(p.lat, p.lng) for p in road.geometry],
        leg_durations_s=list(road.leg_durations_s),
        leg_distances_m=list(road.leg_distances_m),
        estimated=road.estimated,
    )


@dataclass(frozen=True, slots=True)
class PlayClock:
    """Simulated seconds (since the drive began) against real time: ``speed`` simulated
    seconds pass per real second, from ``real_start_at`` (aware UTC)."""

    real_start_at: datetime
    speed: float

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError("speed must be positive")

    def real_at(self, sim_s: float) -> datetime:
        return self.real_start_at + timedelta(seconds=sim_s / self.speed)

    def sim_s(self, real_at: datetime) -> float:
        return (real_at - self.real_start_at).total_seconds() * self.speed

    def fix_in(self, fix: Fix, sim_s: float) -> FixIn:
        """``fix`` (recorded ``sim_s`` into the drive) as the phone sends it: stamped with
        the real time it is played at, as the server refuses fixes from the future."""
        return FixIn(
            lat=fix.lat,
            lng=fix.lng,
            recorded_at=self.real_at(sim_s),
            speed_mps=fix.speed_mps,
            heading_deg=fix.heading_deg,
            accuracy_m=fix.accuracy_m,
            altitude_m=fix.altitude_m,
            battery=fix.battery,
        )


def driver_path(current: OrderStatus, target: OrderStatus, *, pickup: bool) -> list[OrderStatus]:
    """The statuses a driver moves an order through to reach ``target``, ``target`` last
    (empty when it is there); :class:`ValueError` when a driver cannot get there. The
    driver app's ``path_to``: the lifecycle, through the states a driver may set."""
    came_from: dict[OrderStatus, OrderStatus] = {}
    queue = deque([current])
    while queue and target not in came_from and current is not target:
        status = queue.popleft()
        for nxt in sorted(allowed_targets(status, has_pickup=pickup) & DRIVER_TARGETS):
            if nxt not in came_from and nxt is not current:
                came_from[nxt] = status
                queue.append(nxt)
    if current is target:
        return []
    if target not in came_from:
        raise ValueError(f"a driver cannot take an order from '{current}' to '{target}'")
    path = [target]
    while came_from[path[-1]] is not current:
        path.append(came_from[path[-1]])
    return path[::-1]


# How far along its way an order is: a simulated driver only moves orders forward.
_PROGRESS = {
    S.ASSIGNED: 0,
    S.EN_ROUTE_TO_PICKUP: 1,
    S.PICKED_UP: 2,
    S.EN_ROUTE: 3,
    S.ARRIVING: 4,
}


def forward_path(current: OrderStatus, target: OrderStatus, *, pickup: bool) -> list[OrderStatus]:
    """:func:`driver_path` when ``target`` is ahead of ``current``; empty when the order is
    there or past it already (the geofencing said "arriving" before the driver set off:
    setting off does not take it back to "en route"), or a driver cannot take it there."""
    here, there = _PROGRESS.get(current), _PROGRESS.get(target, len(_PROGRESS))
    if here is None or here >= there:
        return []
    try:
        return driver_path(current, target, pickup=pickup)
    except ValueError:
        return []


def next_day_window(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """Where dispatch moves a failed delivery: the same window on the first later day
    (a two-hour window tomorrow from this hour when it had none)."""
    if start is None or end is None or end <= start:
        start = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        return start, start + timedelta(hours=2)
    days = max(1, (now.date() - start.date()).days + 1)
    return start + timedelta(days=days), end + timedelta(days=days)
