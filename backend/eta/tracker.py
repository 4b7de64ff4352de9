"""One driver's ETAs over the day: when to recompute, what to publish, what is late.

Clock-free (times are the fixes' epoch seconds) and given the routing port as an
argument, so the live service (in a worker thread) and ``bench/eta.py`` drive the very
same logic. Routing happens when the stops change (one call for the stop-to-stop legs,
one for the leg to the next stop) and when the driver leaves the road the current leg was
routed on; in between, the time left on the leg is read off the routed leg by how far
along it the driver is, which GPS noise barely moves (re-routing from a noisy point can
snap to the wrong carriageway and add minutes).
"""

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from backend.eta.estimate import StopEta, StopPlan, estimate
from backend.eta.pace import Overrun, Pace
from backend.geofencing.deviation import PlannedPath
from backend.locations.fix import Fix
from backend.routing.legs import split_legs
from backend.routing.port import RouteSource
from shared.geo import Point, haversine_m


@dataclass(frozen=True, slots=True)
class EtaConfig:
    refresh_moved_m: float = 150.0  # a fix this far from the last computation: recompute
    refresh_every_s: float = 30.0  # and at least this often
    publish_change_s: float = 60.0  # publish a stop's ETA when it moved at least this much
    on_leg_m: float = 40.0  # this close to the routed leg (plus accuracy): still on it
    just_left_m: float = 200.0  # this close to the stop just finished: the leg starts there
    min_refresh_s: float = 10.0  # however far the driver moved, not more often than this
    reroute_every_s: float = 30.0  # off the leg, routed again at most this often


def moved_on(config: EtaConfig, last_at: float, last_point: Point | None, fix: Fix) -> bool:
    """Whether ``fix`` is far enough in time or space from the last computation (at
    ``last_at``, from ``last_point``) to compute again, the stops being the same."""
    since = fix.recorded_at - last_at
    if since >= config.refresh_every_s:
        return True
    if since < config.min_refresh_s:
        return False
    if last_point is None:
        return True
    return haversine_m(last_point, Point(fix.lat, fix.lng)) >= config.refresh_moved_m


@dataclass(frozen=True, slots=True)
class RoutedStop:
    """A remaining stop: where it is and what the ETA needs of it."""

    point: Point
    plan: StopPlan


@dataclass(frozen=True, slots=True)
class PlannedLeg:
    duration_s: float  # free flow, as the engine said
    path: PlannedPath


@dataclass(frozen=True, slots=True)
class EtaUpdate:
    etas: list[StopEta]  # every remaining stop, in order
    changed: list[StopEta]  # those to publish (moved ≥ publish_change_s, or new)
    late: list[StopEta]  # newly at risk of missing their window


@dataclass(slots=True)
class _Leg:
    stop_id: int
    started_at: float
    expected_s: float


@dataclass(slots=True)
class RouteEtas:
    config: EtaConfig = field(default_factory=EtaConfig)
    pace: Pace = field(default_factory=Pace)
    overrun: Overrun = field(default_factory=Overrun)
    stops: list[RoutedStop] = field(default_factory=list)
    _stops_changed: bool = True
    _last_at: float = -math.inf
    _last_point: Point | None = None
    _published: dict[int, float] = field(default_factory=dict)  # stop -> eta published
    _late: set[int] = field(default_factory=set)
    _leg: _Leg | None = None
    _routed_key: tuple[tuple[int, Point], ...] = ()
    _rest_s: list[float] = field(default_factory=list)  # stop to stop, free flow
    _legs: dict[tuple[Point, Point], "PlannedLeg"] = field(default_factory=dict)
    _driving: "PlannedLeg | None" = None  # the leg being driven, to the next stop
    _left_from: Point | None = None  # the stop last finished, until the next leg is routed
    _rerouted_at: float = -math.inf  # when the driver was last routed from where they were
    planned_path: PlannedPath | None = None  # the remaining route as planned (deviation)
    last: list[StopEta] = field(default_factory=list)  # the ETAs last computed

    def set_stops(
        self,
        stops: Sequence[RoutedStop],
        now: float,
        departed: Mapping[int, float] | None = None,
    ) -> None:
        """The remaining stops in order (after a refresh from the database, an arrival, a
        stop done), as known at ``now``; ``departed``: when finished stops were left (the
        delivery's time), if known, else ``now`` is taken. An arrival closes the leg for
        the pace; a stop served and gone tells how long its service took."""
        new = list(stops)
        if new == self.stops:
            return
        remaining = {s.plan.stop_id for s in new}
        for gone in self.stops:
            plan = gone.plan
            if plan.stop_id not in remaining:
                self._left_from = gone.point  # the next leg starts there
            if plan.stop_id not in remaining and plan.arrived_at is not None:
                start = max(plan.arrived_at, plan.window_start or plan.arrived_at)
                left = (departed or {}).get(plan.stop_id, now)
                self.overrun.observe(left - start, plan.service_s)
        leg = self._leg
        if leg is not None:
            head = next((s for s in new if s.plan.stop_id == leg.stop_id), None)
            if head is not None and head.plan.arrived_at is not None:
                self.pace.observe(head.plan.arrived_at - leg.started_at, leg.expected_s)
                self._leg = None
            elif head is None:
                self._leg = None  # done without an arrival seen: nothing learnt
        self._published = {k: v for k, v in self._published.items() if k in remaining}
        self.stops = new
        self._stops_changed = True

    def due(self, fix: Fix) -> bool:
        """Whether ``fix`` warrants a recomputation."""
        if not self.stops:
            return False
        return self._stops_changed or moved_on(self.config, self._last_at, self._last_point, fix)

    def refresh(self, fix: Fix, routing: RouteSource) -> EtaUpdate | None:
        """Recompute from ``fix``. Routes (blocking) only when needed: stops the plan has
        no legs for yet, or the driver leaving the road of the current leg. Otherwise the
        time left on the leg is its routed time in proportion to the distance left along
        it, and the legs after it are the planned ones."""
        if not self.stops:
            return None
        key = tuple((s.plan.stop_id, s.point) for s in self.stops)
        here = Point(fix.lat, fix.lng)
        if key != self._routed_key:
            self._routed_key = key
            points = [s.point for s in self.stops]
            left = self._left_from
            self._left_from = None
            near_left = left is not None and haversine_m(here, left) <= self.config.just_left_m
            at_stop = self.stops[0].plan.arrived_at is not None
            start = left if near_left and left is not None else here
            chain = points if at_stop else [start, *points]  # at a stop: no leg to it
            if any(pair not in self._legs for pair in itertools.pairwise(chain)):
                self._plan(chain, routing)
            self._rest_s = [self._legs[p].duration_s for p in itertools.pairwise(points)]
            self._driving = None if at_stop else self._legs[(chain[0], chain[1])]
            line = [
                *(self._driving.path.points if self._driving is not None else []),
                *(p for pair in itertools.pairwise(points) for p in self._legs[pair].path.points),
            ]
            self.planned_path = PlannedPath(line) if len(line) > 1 else None
        at_stop = self.stops[0].plan.arrived_at is not None
        first_s = 0.0 if at_stop else self._time_left_on_leg(fix, routing)
        return self.update(fix, [first_s, *self._rest_s])

    def _plan(self, chain: list[Point], routing: RouteSource) -> None:
        """Route ``chain`` in one go (as a driver following it drives: no U-turn at a
        stop where the road will not allow it) and keep each leg."""
        if len(self._legs) > 1_000:
            self._legs.clear()
        route = routing.route(chain)
        for pair, path, duration in zip(
            itertools.pairwise(chain), split_legs(route, chain), route.leg_durations_s, strict=True
        ):
            self._legs[pair] = PlannedLeg(duration, PlannedPath(path, lazy=True))

    def _time_left_on_leg(self, fix: Fix, routing: RouteSource) -> float:
        leg = self._driving
        if leg is not None and leg.path.length_m > 0:
            slack = self.config.on_leg_m + min(fix.accuracy_m or 0.0, self.config.on_leg_m)
            near = leg.path.nearest(fix.lat, fix.lng, slack)
            if near is not None:
                return (
                    leg.duration_s * max(leg.path.length_m - near.along_m, 0.0) / leg.path.length_m
                )
        if leg is not None and leg.path.length_m == 0:
            return leg.duration_s
        rerouted = self._rerouted_at
        if leg is not None and fix.recorded_at - rerouted < self.config.reroute_every_s:
            # Off the road it was routed on moments ago: count down until the next routing.
            return max(leg.duration_s - (fix.recorded_at - rerouted), 0.0)
        # Off the leg: route anew from here.
        self._rerouted_at = fix.recorded_at
        head = self.stops[0]
        here = Point(fix.lat, fix.lng)
        route = routing.route([here, head.point])
        line = route.geometry if len(route.geometry) > 1 else [here, head.point]
        self._driving = PlannedLeg(route.duration_s, PlannedPath(line, lazy=True))
        return route.duration_s

    def update(self, fix: Fix, legs_s: Sequence[float]) -> EtaUpdate:
        """Recompute from ``fix`` with the routed ``legs_s`` (one per remaining stop)."""
        now = fix.recorded_at
        plans = [s.plan for s in self.stops]
        head = plans[0]
        if head.arrived_at is None and (self._leg is None or self._leg.stop_id != head.stop_id):
            self._leg = _Leg(head.stop_id, now, legs_s[0])
        etas = estimate(now, plans, legs_s, self.pace.value, self.overrun.value)
        self.last = etas
        self._last_at, self._last_point = now, Point(fix.lat, fix.lng)
        self._stops_changed = False
        changed = []
        for eta in etas:
            old = self._published.get(eta.stop_id)
            if old is None or abs(eta.eta - old) >= self.config.publish_change_s:
                self._published[eta.stop_id] = eta.eta
                changed.append(eta)
        late = []
        for eta, plan in zip(etas, plans, strict=True):
            if plan.arrived_at is None and eta.late_by_s > 0 and eta.stop_id not in self._late:
                self._late.add(eta.stop_id)
                late.append(eta)
        return EtaUpdate(etas, changed, late)
