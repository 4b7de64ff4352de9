"""What a driver's movement around their stops means: arrived, arriving, left.

Pure and clock-free (fix times only), fed each batch of a driver's fixes with the fence
events they caused, the fences the driver is inside and the route's unfinished stops:

* **arrived**: inside a stop's arrival fence for its dwell time (the engine's DWELL) *and*
  standing still (every fix since within ``still_m`` of the newest; one GPS jump
  forgiven): ``still_s`` within ``near_m`` of the next stop, ``off_plan_still_s`` farther
  from it or at a stop that is not the next, so a red light near a stop is not a visit.
  The arrival time is when the standing began, not when the fence was crossed. Pickups
  arrive on entering the fence when they are the next stop: "arrived at pickup".
* **arriving**: inside the "nearby" fence of the next drop-off while its order is en route
  (also when the driver was already inside it as it became the next one).
* **departed** / **left without proof**: an arrived stop's circle left for good (its radius
  plus a hysteresis band, the fix's accuracy counted). A finished pickup gives "departed"
  (the order goes en route), an unfinished stop "left without proof".

Each action carries the fix that caused it; applying it (and refusing it when a person
changed the order after that fix) is :mod:`backend.geofencing.stop_actions`' business.
"""

from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from backend.geofencing.engine import FenceEvent, Transition
from backend.geofencing.route_fences import OpenStop, parse_stop_key, stop_key
from backend.locations.fix import Fix
from shared.enums import OrderStatus, StopKind
from shared.geo import Point, haversine_m

_KEEP_S = 300.0  # recent fixes kept per driver, for standing still


class StopActionKind(StrEnum):
    ARRIVED = "arrived"
    ARRIVING = "arriving"
    DEPARTED = "departed"
    LEFT_WITHOUT_PROOF = "left_without_proof"


@dataclass(frozen=True, slots=True)
class StopAction:
    kind: StopActionKind
    driver_id: int
    stop: OpenStop
    fix: Fix  # the fix that caused it
    at: float  # when it happened (the arrival: when the driver stopped)


@dataclass(frozen=True, slots=True)
class ArrivalConfig:
    arrival_m: float = 150.0  # for a stop without its own radius
    still_s: float = 60.0  # standing this long near the next stop: arrived (a red light
    # near the stop must not count)
    still_m: float = 25.0  # "standing": every fix this close to the newest (+ accuracy)
    near_m: float = 60.0  # near the stop (the fix's accuracy counted)
    off_plan_still_s: float = 90.0  # farther, or not the next stop: standing this long
    gap_s: float = 30.0  # fixes this far apart: a GPS gap
    gap_speed_mps: float = 3.0  # over a gap, the driver is assumed to drive at least this fast
    same_place_m: float = 20.0  # stops this close are one place (parcels for one building)
    exit_band_m: float = 30.0  # beyond radius + this (and the fix's accuracy): left
    exit_fixes: int = 3  # consecutive fixes beyond it: a GPS jump or two is no departure


@dataclass(slots=True)
class _Driver:
    recent: deque[Fix] = field(default_factory=deque)
    dwelled: set[int] = field(default_factory=set)  # arrival fences dwelled in, not arrived
    arrived: dict[int, OpenStop] = field(default_factory=dict)
    beyond: dict[int, int] = field(default_factory=dict)  # arrived stop -> fixes beyond
    head: int | None = None  # the next stop, and since when it is the next one
    head_since: float = float("-inf")
    alerted: set[int] = field(default_factory=set)  # "arriving" sent


class StopRules:
    def __init__(self, config: ArrivalConfig | None = None) -> None:
        self.config = config or ArrivalConfig()
        self._drivers: dict[int, _Driver] = {}

    def forget(self, driver_id: int) -> None:
        self._drivers.pop(driver_id, None)

    def seed(self, driver_id: int, stops: Sequence[OpenStop]) -> None:
        """``stops`` (unfinished) were seen arriving at by another worker, which had the
        driver's fixes then (or by this one before a restart): they count as arrived here
        too, so standing there is no second arrival and leaving is still a departure."""
        arrived = [s for s in stops if s.arrived_at is not None]
        if arrived:
            state = self._drivers.setdefault(driver_id, _Driver())
            for stop in arrived:
                state.arrived.setdefault(stop.stop_id, stop)

    def quiet(self, driver_id: int, head_id: int | None) -> bool:
        """Whether a batch without stop-fence events, away from every fence, can change
        nothing for ``driver_id`` (the common case, skipped at 20,000 fixes/s)."""
        state = self._drivers.get(driver_id)
        return (
            state is not None and state.head == head_id and not state.dwelled and not state.arrived
        )

    def arrived(self, driver_id: int) -> set[int]:
        """The stops ``driver_id`` is at now (arrived, not left)."""
        state = self._drivers.get(driver_id)
        return set(state.arrived) if state else set()

    def apply(
        self,
        driver_id: int,
        stops: Sequence[OpenStop],
        events: Sequence[FenceEvent],
        inside: Collection[str],
        fixes: Sequence[Fix],
    ) -> list[StopAction]:
        """The actions of one batch. ``stops``: the route's unfinished stops in order;
        ``events``: what the batch did to the fences; ``inside``: the fence keys the
        driver is inside after it; ``fixes``: the batch's new fixes."""
        if not fixes:
            return []
        state = self._drivers.setdefault(driver_id, _Driver())
        self._remember(state, fixes)
        fix = state.recent[-1]
        open_ids = {s.stop_id: s for s in stops}
        state.dwelled &= open_ids.keys()
        state.alerted &= open_ids.keys()
        for stop_id, stop in list(state.arrived.items()):
            if stop_id not in open_ids and stop.kind is StopKind.DROPOFF:
                del state.arrived[stop_id]  # served: leaving it says nothing
                state.beyond.pop(stop_id, None)
        for event in events:
            parsed = parse_stop_key(event.fence.key)
            if parsed is None or parsed[1] != "arrival":
                continue
            if event.transition is Transition.DWELL:
                state.dwelled.add(parsed[0])
            elif event.transition is Transition.EXIT:
                state.dwelled.discard(parsed[0])

        head_id = stops[0].stop_id if stops else None
        if head_id != state.head:
            # The previous stop was finished in this batch's time (unknown before the first).
            first = state.head is None and state.head_since == float("-inf")
            state.head = head_id
            state.head_since = float("-inf") if first else fixes[0].recorded_at
            if head_id is not None and stop_key(head_id, "arrival") in inside:
                # Already standing in the fence of the stop that just became the next one
                # (the previous one was round the corner): its dwell fired long ago.
                state.dwelled.add(head_id)
        actions = self._departures(driver_id, state, open_ids, fixes)
        head = stops[0] if stops else None
        if head is not None and self._at_pickup(state, head, events, inside):
            state.arrived[head.stop_id] = head
            state.dwelled.discard(head.stop_id)
            actions.append(
                StopAction(StopActionKind.ARRIVED, driver_id, head, fix, fix.recorded_at)
            )
        actions += self._arrivals(driver_id, state, stops, fix)
        next_drop = next((s for s in stops if s.kind is StopKind.DROPOFF), None)
        nearby = stop_key(next_drop.stop_id, "nearby") if next_drop is not None else ""
        if (
            next_drop is not None
            and next_drop.stop_id not in state.alerted
            and next_drop.order_status is OrderStatus.EN_ROUTE
            and nearby in inside
        ):
            state.alerted.add(next_drop.stop_id)
            # The fix that crossed into the circle, when it is in this batch.
            cause = next(
                (
                    e.fix
                    for e in events
                    if e.fence.key == nearby and e.transition is Transition.ENTER
                ),
                fix,
            )
            actions.append(
                StopAction(StopActionKind.ARRIVING, driver_id, next_drop, cause, cause.recorded_at)
            )
        return actions

    @staticmethod
    def _at_pickup(
        state: _Driver, head: OpenStop, events: Sequence[FenceEvent], inside: Collection[str]
    ) -> bool:
        """The next stop is a pickup and the driver entered its arrival fence."""
        if head.kind is not StopKind.PICKUP or head.stop_id in state.arrived:
            return False
        key = stop_key(head.stop_id, "arrival")
        entered = any(e.transition is Transition.ENTER and e.fence.key == key for e in events)
        return entered or key in inside

    def _remember(self, state: _Driver, fixes: Sequence[Fix]) -> None:
        recent = state.recent
        newest = recent[-1].recorded_at if recent else float("-inf")
        for fix in sorted(fixes, key=lambda f: f.recorded_at):
            if fix.recorded_at > newest:
                recent.append(fix)
                newest = fix.recorded_at
        while recent and recent[0].recorded_at < newest - _KEEP_S:
            recent.popleft()

    def _standing_since(self, state: _Driver) -> tuple[float, float]:
        """When the driver stopped moving (the newest fix's time if they are moving), as
        ``(likely, certain)``: across a GPS gap the stand likely began when a slow drive
        from the last fix elsewhere would have got here, and certainly with the first fix
        after the gap. Equal when there was no gap."""
        newest = state.recent[-1]
        here = Point(newest.lat, newest.lng)
        since = newest.recorded_at
        strays = 0  # one GPS jump does not end a stand; two in a row do
        for fix in reversed(state.recent):
            moving = fix.speed_mps is not None and fix.speed_mps > 2.0
            away = haversine_m(here, Point(fix.lat, fix.lng))
            # GPS wanders by its accuracy while parked: as much is forgiven (up to 30 m).
            wander = min(max(newest.accuracy_m or 0.0, fix.accuracy_m or 0.0), 30.0)
            if moving or away > self.config.still_m + wander:
                if since - fix.recorded_at > self.config.gap_s and strays == 0:
                    # No fix for a while (a tunnel, a car park).
                    return min(since, fix.recorded_at + away / self.config.gap_speed_mps), since
                strays += 1
                if strays == 2:
                    break
                continue
            strays = 0
            since = fix.recorded_at
        return since, since

    def _arrivals(
        self, driver_id: int, state: _Driver, stops: Sequence[OpenStop], fix: Fix
    ) -> list[StopAction]:
        candidates = [
            s for s in stops if s.stop_id in state.dwelled and s.stop_id not in state.arrived
        ]
        if not candidates:
            return []
        # Standing before the previous stop was finished was standing at that stop.
        likely, certain = self._standing_since(state)
        since = max(likely, state.head_since)
        standing = fix.recorded_at - since
        if standing < self.config.still_s:
            return []
        here = Point(fix.lat, fix.lng)
        slack = min(fix.accuracy_m or 0.0, self.config.near_m / 2)
        cfg = self.config

        def distance(stop: OpenStop) -> float:
            return stop.distance_m(here)

        def ready(stop: OpenStop) -> bool:
            close = stop is stops[0] and distance(stop) - slack <= cfg.near_m
            return standing >= (cfg.still_s if close else cfg.off_plan_still_s)

        at_open = [a for a in state.arrived.values() if a.stop_id in {s.stop_id for s in stops}]
        if at_open:
            # At an unfinished stop already: only a stop at the same place (two parcels
            # for one building) is arrived at too; the neighbours' fences are no visit.
            here_stops = [Point(a.lat, a.lng) for a in at_open]
            candidates = [
                s
                for s in candidates
                if any(haversine_m(p, Point(s.lat, s.lng)) <= cfg.same_place_m for p in here_stops)
            ]
        # The next stop first (parked a little farther, as in a pedestrian street), then
        # the nearest.
        ranked = sorted(candidates, key=lambda s: (s is not stops[0], distance(s)))
        chosen = next((s for s in ranked if ready(s)), None)
        if chosen is None:
            return []
        # One visit, one arrival: the other fences this driver stands in are not visited.
        state.dwelled -= {s.stop_id for s in candidates}
        state.arrived[chosen.stop_id] = chosen
        # Reported: when they were surely there (after a GPS gap: its end), never earlier.
        at = max(certain, state.head_since)
        return [StopAction(StopActionKind.ARRIVED, driver_id, chosen, fix, at)]

    def _departures(
        self, driver_id: int, state: _Driver, open_ids: dict[int, OpenStop], fixes: Sequence[Fix]
    ) -> list[StopAction]:
        actions: list[StopAction] = []
        if not state.arrived:
            return actions
        for fix in sorted(fixes, key=lambda f: f.recorded_at):
            here = Point(fix.lat, fix.lng)
            for stop_id, stop in list(state.arrived.items()):
                radius = stop.arrival_radius(self.config.arrival_m)
                uncertainty = min(fix.accuracy_m or 0.0, radius / 2)
                distance = haversine_m(here, Point(stop.lat, stop.lng))
                if distance - uncertainty <= radius + self.config.exit_band_m:
                    state.beyond.pop(stop_id, None)
                    continue
                state.beyond[stop_id] = state.beyond.get(stop_id, 0) + 1
                if state.beyond[stop_id] < self.config.exit_fixes:
                    continue
                del state.arrived[stop_id], state.beyond[stop_id]
                current = open_ids.get(stop_id)
                if current is not None:
                    kind = StopActionKind.LEFT_WITHOUT_PROOF
                elif stop.kind is StopKind.PICKUP:
                    kind = StopActionKind.DEPARTED
                else:
                    continue  # delivered or failed: nothing to say
                actions.append(StopAction(kind, driver_id, current or stop, fix, fix.recorded_at))
        return actions
