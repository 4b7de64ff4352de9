"""ETA accuracy and automatic arrivals on a simulated day in Monaco.

    .venv/bin/python bench/eta.py [--quick] [--drivers N] [--stops N] [--seed N]

Imports the bundled extract into a temporary directory and routes with embedded OSRM.
Each driver gets a day of stops (nearest-neighbour order from a depot): a third with a
one-hour time window around the planned arrival, a few whose window opens later (the
driver waits) or closes too early (late risk), planned service times of 1.5-5 minutes.
The simulator drives the day with noisy speeds, traffic-light and junction stops, service
times 20 % off plan, a 2-6 minute delay at 8 % of the stops (a customer who does not
answer; ``--delay-share/--delay-min/--delay-max`` for other mixes: no ETA can foresee
them, so they set the error floor), GPS noise, outliers and gaps. The phone uploads its
fixes every 15 s; the driver confirms each delivery as they leave.

Every batch goes through the code the server runs: :class:`GeofenceEngine` with the
route's fences, :class:`StopRules` for arrived/arriving/left, :class:`RouteEtas` with the
routing engine for the ETAs. Every ETA published (changed by ≥ 1 min) is recorded with
when it was published; at 5, 15 and 30 minutes before each true arrival the ETA last
published is compared with it. An arrival counts as seen when it is placed between 60 s
before the true arrival and the departure; a visit missed while the phone had no GPS for
part of it (a gap of over 15 s) is counted apart from the misses with the phone reporting
throughout (the driver's confirmation records those arrivals). Then the fence-check rate
with 10,000 fences (``bench/geofence.py``'s dense worst case). Last line JSON.
"""

import argparse
import bisect
import importlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from backend.eta.live import routed  # noqa: E402
from backend.eta.tracker import RouteEtas  # noqa: E402
from backend.geofencing.engine import GeofenceEngine, Scope  # noqa: E402
from backend.geofencing.reach import Reach  # noqa: E402
from backend.geofencing.route_fences import FenceRadii, OpenStop, route_fences  # noqa: E402
from backend.geofencing.stop_rules import StopActionKind, StopRules  # noqa: E402
from backend.locations.cleaning import CleaningConfig, clean  # noqa: E402
from backend.locations.fix import DriverRef, Fix, Source  # noqa: E402
from backend.regions.importer import import_region  # noqa: E402
from backend.regions.metadata import osrm_file  # noqa: E402
from backend.routing.osrm_embedded import EmbeddedOsrm  # noqa: E402
from backend.routing.port import RoutingError  # noqa: E402
from backend.simulator.gps import Fix as PhoneFix  # noqa: E402
from backend.simulator.runner import (  # noqa: E402
    DriverPlan,
    DriverRun,
    PlannedStop,
    SimulationConfig,
    build_run,
)
from shared.enums import OrderStatus, StopKind  # noqa: E402
from shared.geo import Point, haversine_m  # noqa: E402

SEED = 20261121
UPLOAD_EVERY_S = 15.0
HORIZONS_MIN = (5, 15, 30)
ARRIVAL_SLACK_S = 60.0  # an arrival seen this long before the true one still counts


@dataclass(frozen=True)
class Delays:
    share: float = 0.08  # of the stops
    extra_s: tuple[float, float] = (120.0, 360.0)


@dataclass
class DayStop:
    stop_id: int
    point: Point
    planned_service_s: float
    true_service_s: float
    window_start: float | None = None
    window_end: float | None = None


@dataclass
class Outcome:
    """What the system published for one driver's day."""

    etas: dict[int, list[tuple[float, float]]] = field(default_factory=dict)  # (at, eta)
    arrived: dict[int, float] = field(default_factory=dict)  # stop -> arrival time seen
    arrivals_seen: list[tuple[int, float]] = field(default_factory=list)  # every ARRIVED
    arriving: dict[int, float] = field(default_factory=dict)  # stop -> alert time
    left_without_proof: int = 0
    late_risk: dict[int, float] = field(default_factory=dict)  # stop -> raised at
    refreshes: int = 0
    computed: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    routing_s: float = 0.0


def nearest_neighbour(start: Point, points: list[Point]) -> list[Point]:
    left, order, here = list(points), [], start
    while left:
        nearest = min(left, key=lambda p: haversine_m(here, p))
        left.remove(nearest)
        order.append(nearest)
        here = nearest
    return order


def plan_day(
    engine: EmbeddedOsrm,
    driver_id: int,
    depot: Point,
    points: list[Point],
    start_at: datetime,
    rng: np.random.Generator,
    first_id: int,
    delays: "Delays",
) -> tuple[DriverPlan, list[DayStop]]:
    ordered = nearest_neighbour(depot, points)
    legs = engine.route([depot, *ordered]).leg_durations_s
    t0 = start_at.timestamp()
    t, stops = t0, []
    for i, (point, leg) in enumerate(zip(ordered, legs, strict=True)):
        service = float(rng.uniform(90, 300))
        true_service = service
        if rng.random() < delays.share:
            true_service += float(rng.uniform(*delays.extra_s))  # nobody answers at once
        t += leg * 1.1  # the plan allows a little for traffic
        stop = DayStop(first_id + i, point, service, true_service)
        draw = rng.random()
        if draw < 0.33:
            stop.window_start, stop.window_end = t - 1800, t + 1800
        elif draw < 0.40:
            stop.window_start, stop.window_end = t + 600, t + 4200  # opens later: wait
        elif draw < 0.45:
            stop.window_start, stop.window_end = t - 3600, t - 300  # bound to be late
        if stop.window_start is not None:
            t = max(t, stop.window_start)
        t += service
        stops.append(stop)
    plan = DriverPlan(
        driver_id=driver_id,
        start=depot,
        stops=tuple(
            PlannedStop(
                s.point,
                s.true_service_s,
                datetime.fromtimestamp(s.window_start, UTC) if s.window_start else None,
            )
            for s in stops
        ),
        start_at=start_at,
        end=depot,
    )
    return plan, stops


def open_stop(stop: DayStop, arrived_at: float | None) -> OpenStop:
    return OpenStop(
        stop.stop_id,
        stop.stop_id,
        StopKind.DROPOFF,
        stop.point.lat,
        stop.point.lng,
        order_status=OrderStatus.EN_ROUTE,
        service_s=stop.planned_service_s,
        window_start=stop.window_start,
        window_end=stop.window_end,
        arrived_at=arrived_at,
    )


def play(run: DriverRun, stops: list[DayStop], engine: EmbeddedOsrm) -> Outcome:
    """Feed one driver's day through fences, stop rules and ETAs, batch by batch."""
    driver = run.plan.driver_id
    ref = DriverRef(1, driver)
    t0 = run.plan.start_at.timestamp()
    done_at = [t0 + v.departed_s for v in run.trajectory.visits[: len(stops)]]
    fences, rules, etas, out = GeofenceEngine(), StopRules(), RouteEtas(), Outcome()
    reach = Reach(engine)
    radii = FenceRadii()
    arrived: dict[int, float] = {}
    fixes = [as_pipeline_fix(f.fix) for f in run.fixes]
    tick, i, shown = fixes[0].recorded_at, 0, None
    current: Fix | None = None
    while i < len(fixes):
        tick += UPLOAD_EVERY_S
        j = i
        while j < len(fixes) and fixes[j].recorded_at <= tick:
            j += 1
        cleaned = clean(fixes[i:j], current, tick, CleaningConfig())
        i = j
        batch = cleaned.fresh
        if not batch:
            continue
        current = batch[-1]
        # The driver confirmed every delivery they left before this upload.
        remaining = [s for s, d in zip(stops, done_at, strict=True) if d > tick]
        open_stops = reach.apply(open_stop(s, arrived.get(s.stop_id)) for s in remaining)
        ids = tuple(s.stop_id for s in open_stops)
        if ids != shown:
            fences.replace_scope(Scope.driver(driver), route_fences(driver, open_stops, radii))
            shown = ids
        events = fences.check(ref, batch)
        for action in rules.apply(driver, open_stops, events, fences.inside(driver), batch):
            sid = action.stop.stop_id
            if action.kind is StopActionKind.ARRIVED:
                out.arrivals_seen.append((sid, action.at))
                out.arrived.setdefault(sid, action.at)
                arrived[sid] = action.at
            elif action.kind is StopActionKind.ARRIVING:
                out.arriving.setdefault(sid, action.at)
            elif action.kind is StopActionKind.LEFT_WITHOUT_PROOF:
                out.left_without_proof += 1
                out.notes.append(f"left {sid} at {action.at - t0:.0f}s")
        open_stops = reach.apply(open_stop(s, arrived.get(s.stop_id)) for s in remaining)
        left = {s.stop_id: d for s, d in zip(stops, done_at, strict=True) if d <= tick}
        etas.set_stops([routed(s) for s in open_stops], tick, left)
        last = batch[-1]
        if not etas.due(last):
            continue
        started = time.perf_counter()
        try:
            update = etas.refresh(last, engine)
        except RoutingError:
            continue
        out.routing_s += time.perf_counter() - started
        out.refreshes += 1
        if update is None:
            continue
        for eta in update.etas:
            out.computed.setdefault(eta.stop_id, []).append((tick, eta.eta))
        for eta in update.changed:
            out.etas.setdefault(eta.stop_id, []).append((tick, eta.eta))
        for eta in update.late:
            out.late_risk.setdefault(eta.stop_id, tick)
    return out


def gap_during(times: np.ndarray, start: float, end: float, gap_s: float = 15.0) -> bool:
    """Whether the phone went without a fix for over ``gap_s`` during [start, end]."""
    k = int(np.searchsorted(times, start))
    inside = times[max(k - 1, 0) : int(np.searchsorted(times, end, side="right")) + 1]
    edges = np.concatenate(([start], inside[(inside >= start) & (inside <= end)], [end]))
    return bool(np.any(np.diff(edges) > gap_s)) or len(inside) == 0


def as_pipeline_fix(phone: PhoneFix) -> Fix:
    at = phone.recorded_at.timestamp()
    return Fix(
        phone.lat,
        phone.lng,
        at,
        at,
        phone.speed_mps,
        phone.heading_deg,
        phone.accuracy_m,
        phone.altitude_m,
        phone.battery,
        Source.SIMULATOR,
    )


def published_at(history: Sequence[tuple[float, float]], when: float) -> float | None:
    """The ETA last published at or before ``when``."""
    times = [at for at, _ in history]
    k = bisect.bisect_right(times, when)
    return history[k - 1][1] if k else None


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 drivers x 15 stops (~20 s)")
    parser.add_argument("--drivers", type=int, default=8)
    parser.add_argument("--stops", type=int, default=30)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--verbose", action="store_true", help="explain misses")
    parser.add_argument("--delay-share", type=float, default=0.08, help="of the stops")
    parser.add_argument("--delay-min", type=float, default=2.0, help="minutes, at least")
    parser.add_argument("--delay-max", type=float, default=6.0, help="minutes, at most")
    args = parser.parse_args()
    drivers, per_driver = (3, 15) if args.quick else (args.drivers, args.stops)
    rng = np.random.default_rng(args.seed)
    delays = Delays(args.delay_share, (60 * args.delay_min, 60 * args.delay_max))
    start_at = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

    with tempfile.TemporaryDirectory() as tmp:
        region_dir = import_region(REPO / "regions" / "monaco.osm.pbf", Path(tmp), "monaco")
        engine = EmbeddedOsrm(osrm_file(region_dir))
        sample_points = importlib.import_module("routing").sample_points
        points = sample_points(engine, drivers * (per_driver + 1), args.seed)
        days: list[tuple[DriverRun, list[DayStop]]] = []
        config = SimulationConfig(seed=args.seed)
        for d in range(drivers):
            chunk = points[d * (per_driver + 1) : (d + 1) * (per_driver + 1)]
            start = start_at + timedelta(minutes=int(rng.integers(0, 60)))
            plan, stops = plan_day(engine, d + 1, chunk[0], chunk[1:], start, rng, d * 1000, delays)
            days.append((build_run(plan, engine.route(plan.waypoints), config), stops))

        errors: dict[int, list[float]] = {h: [] for h in HORIZONS_MIN}
        computed: dict[int, list[float]] = {h: [] for h in HORIZONS_MIN}
        alerts_before = alerts = false_arrivals = missed = dark = left = late_raised = 0
        late_true = late_warned_before = refreshes = 0
        arrival_lag: list[float] = []
        routing_s = 0.0
        started = time.perf_counter()
        for run, stops in days:
            out = play(run, stops, engine)
            refreshes += out.refreshes
            routing_s += out.routing_s
            left += out.left_without_proof
            t0 = run.plan.start_at.timestamp()
            visits = run.trajectory.visits[: len(stops)]
            truth = {
                s.stop_id: (t0 + v.arrived_s, t0 + v.departed_s)
                for s, v in zip(stops, visits, strict=True)
            }
            for sid, at in out.arrivals_seen:
                arrive, depart = truth[sid]
                if not arrive - ARRIVAL_SLACK_S <= at <= depart:
                    false_arrivals += 1
                    if args.verbose:
                        print(
                            f"false arrival: stop {sid} at {at - t0:.0f}s, true visit "
                            f"{arrive - t0:.0f}-{depart - t0:.0f}s"
                        )
            fix_times = np.array([f.fix.recorded_at.timestamp() for f in run.fixes])
            for stop in stops:
                arrive, depart = truth[stop.stop_id]
                if stop.stop_id in out.arrived:
                    arrival_lag.append(out.arrived[stop.stop_id] - arrive)
                elif gap_during(fix_times, arrive, depart):
                    dark += 1  # the phone lost its GPS during the visit
                    if args.verbose:
                        print(f"missed in a GPS gap: stop {stop.stop_id}")
                else:
                    missed += 1
                    if args.verbose:
                        print(
                            f"missed: stop {stop.stop_id} visit {arrive - t0:.0f}s-"
                            f"{truth[stop.stop_id][1] - t0:.0f}s; {out.notes}"
                        )
                if stop.stop_id in out.arriving:
                    alerts += 1
                    alerts_before += out.arriving[stop.stop_id] < arrive
                for h in HORIZONS_MIN:
                    eta = published_at(out.etas.get(stop.stop_id, []), arrive - 60 * h)
                    if eta is not None and arrive - 60 * h >= t0:
                        errors[h].append(eta - arrive)
                        raw = published_at(out.computed[stop.stop_id], arrive - 60 * h)
                        assert raw is not None
                        computed[h].append(raw - arrive)
                if stop.window_end is not None and arrive > stop.window_end:
                    late_true += 1
                    raised = out.late_risk.get(stop.stop_id)
                    late_warned_before += raised is not None and raised < stop.window_end
                late_raised += stop.stop_id in out.late_risk
        played_s = time.perf_counter() - started

    total = drivers * per_driver
    print(
        f"{drivers} drivers x {per_driver} stops in Monaco; {refreshes:,} ETA refreshes, "
        f"routing {1000 * routing_s / max(refreshes, 1):.1f} ms each; played in {played_s:.1f} s"
    )
    figures: dict[str, float | int] = {}
    for h in HORIZONS_MIN:
        abs_err = [abs(e) for e in errors[h]]
        mae, p90 = statistics.fmean(abs_err) if abs_err else float("nan"), percentile(abs_err, 90)
        bias = statistics.fmean(errors[h]) if errors[h] else float("nan")
        figures[f"mae_{h}min_s"] = round(mae, 1)
        figures[f"p90_{h}min_s"] = round(p90, 1)
        print(
            f"  {h:>2} min before arrival: MAE {mae:6.1f} s, p90 {p90:6.1f} s, "
            f"bias {bias:+6.1f} s over {len(abs_err)} stops; as computed at every refresh: "
            f"MAE {statistics.fmean(abs(e) for e in computed[h]):.1f} s"
        )
    lag = sorted(arrival_lag)
    print(
        f"  arrivals seen {len(lag)}/{total}, missed {missed}, false {false_arrivals}, "
        f"missed in a GPS gap {dark}; "
        f"seen after the true arrival by median {percentile(lag, 50):.0f} s, "
        f"p90 {percentile(lag, 90):.0f} s"
    )
    print(
        f"  'arriving' alerts {alerts}, before the arrival {alerts_before}; left without "
        f"proof {left}; late risk raised {late_raised}, truly late {late_true}, "
        f"warned before the window closed {late_warned_before}"
    )

    geofence = importlib.import_module("geofence")
    import random

    fence_rng = random.Random(7)
    city, stop_points = geofence.city(fence_rng, 500)
    dense = geofence.run(
        city, geofence.near_stops(fence_rng, stop_points, 400 if args.quick else 2_000)
    )
    print(
        f"  geofence: {len(city):,} fences, {dense['evaluations_per_s']:,} fix-fence "
        f"evaluations/s (dense worst case)"
    )
    print(
        json.dumps(
            {
                **figures,
                "false_arrivals": false_arrivals,
                "missed_arrivals": missed,
                "missed_in_gps_gaps": dark,
                "arrivals": total,
                "arriving_alerts": alerts,
                "arriving_before_arrival_share": round(alerts_before / alerts, 3)
                if alerts
                else None,
                "left_without_proof": left,
                "late_risk_raised": late_raised,
                "late_truly": late_true,
                "late_warned_before": late_warned_before,
                "fence_checks_per_s": dense["evaluations_per_s"],
                "fences": len(city),
                "eta_refreshes": refreshes,
                "quick": args.quick,
            }
        )
    )


if __name__ == "__main__":
    main()
