"""PyVRP (hybrid genetic search): the engine for time windows, multi-dimensional capacity,
shifts, heterogeneous vehicles, pickup-and-delivery pairs and optional jobs. The only module
that imports pyvrp. Runs in the calling thread; see :mod:`backend.optimization.solver`."""

import time
import warnings

import numpy as np
import pyvrp
from pyvrp import IteratedLocalSearchParams, PenaltyParams, SolveParams
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.IteratedLocalSearch import IteratedLocalSearchCallbacks
from pyvrp.stop import MaxRuntime

from backend.optimization.costs import Weights, weights_for
from backend.optimization.problem import Job, OnBest, Problem
from backend.optimization.solution import (
    PlannedRoute,
    PlannedStop,
    Solution,
    StopKind,
    Unassigned,
)

NAME = "pyvrp"


def can_solve(problem: Problem) -> bool:
    """PyVRP has no per-vehicle skills, driver breaks or soft (late-allowed) windows;
    everything else of :class:`Problem` it expresses."""
    return not (problem.has_skills or problem.has_breaks or problem.has_soft_windows)


def solve(
    problem: Problem,
    jobs: list[Job],
    time_limit_s: float,
    seed: int,
    on_best: OnBest | None = None,
) -> Solution:
    """Route ``jobs`` (a subset of ``problem.jobs`` that each fit some vehicle alone);
    ``on_best(drive_s, distance_m, served)`` hears of each better feasible plan found."""
    started = time.monotonic()
    weights = weights_for(problem)
    n = len(problem.durations)
    open_end = any(v.end is None for v in problem.vehicles)
    size = n + 1 if open_end else n  # an extra "anywhere" location ends open routes
    durations = np.zeros((size, size), dtype=np.int64)
    distances = np.zeros((size, size), dtype=np.int64)
    durations[:n, :n] = np.asarray(problem.durations, dtype=np.int64)
    distances[:n, :n] = np.asarray(problem.distances, dtype=np.int64)
    if open_end:  # free to reach from anywhere, never left
        durations[n, :n] = distances[n, :n] = 2**40
    locations = [pyvrp.Location(0, 0) for _ in range(size)]

    depot_of: dict[int, int] = {}
    for vehicle in problem.vehicles:
        for where in (vehicle.start, n if vehicle.end is None else vehicle.end):
            depot_of.setdefault(where, len(depot_of))
    depots = [pyvrp.Depot(location=loc) for loc in depot_of]

    dims = problem.dimensions + (1 if any(v.max_stops for v in problem.vehicles) else 0)

    def amounts(job: Job) -> list[int]:
        extra = [1] if dims > problem.dimensions else []
        return list(problem.demand(job)) + extra

    vehicle_types = []
    for vehicle in problem.vehicles:
        capacity = list(problem.capacity(vehicle))
        if dims > problem.dimensions:
            capacity.append(vehicle.max_stops or len(jobs) + 1)
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=1,
                capacity=capacity,
                start_depot=depot_of[vehicle.start],
                end_depot=depot_of[n if vehicle.end is None else vehicle.end],
                tw_early=vehicle.shift[0],
                tw_late=vehicle.shift[1],
                fixed_cost=weights.vehicle,
                unit_distance_cost=weights.distance,
                unit_duration_cost=weights.duration,
                name=vehicle.id,
            )
        )

    clients: list[pyvrp.Client] = []
    shipments: list[pyvrp.Shipment] = []
    client_job: list[Job] = []
    shipment_job: list[Job] = []
    for job in jobs:
        prize = weights.priority_prize if job.priority else weights.prize
        d = job.delivery
        if job.pickup is None:
            clients.append(
                pyvrp.Client(
                    location=d.location,
                    delivery=amounts(job),
                    service_duration=d.service_s,
                    tw_early=d.window[0],
                    tw_late=d.window[1],
                    prize=prize,
                    required=False,
                    name=job.id,
                )
            )
            client_job.append(job)
        else:
            p = job.pickup
            shipments.append(
                pyvrp.Shipment(
                    pickup_location=p.location,
                    delivery_location=d.location,
                    pickup_tw_early=p.window[0],
                    pickup_tw_late=p.window[1],
                    pickup_service_duration=p.service_s,
                    delivery_tw_early=d.window[0],
                    delivery_tw_late=d.window[1],
                    delivery_service_duration=d.service_s,
                    amount=amounts(job),
                    prize=prize,
                    required=False,
                    name=job.id,
                )
            )
            shipment_job.append(job)

    data = pyvrp.ProblemData(
        locations,
        clients,
        depots,
        vehicle_types,
        [distances],  # type: ignore[list-item]  # (pyvrp's stub wants a 1-D shape type)
        [durations],  # type: ignore[list-item]
        shipments=shipments,
    )
    with warnings.catch_warnings():
        # Raised when the prizes (which must outweigh any detour) dwarf the route costs;
        # infeasible candidates are still rejected, and the result is checked below.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        # A unit of overload or lateness must cost more than the largest prize it could
        # collect, or an infeasible plan that "serves" everything would look best.
        params = SolveParams(
            penalty=PenaltyParams(max_penalty=float(weights.priority_prize * 10)),
            ils=IteratedLocalSearchParams(callbacks=_Reporter(on_best)),
        )
        result = pyvrp.solve(
            data, stop=MaxRuntime(time_limit_s), seed=seed, display=False, params=params
        )
    best = result.best
    routes: list[PlannedRoute] = []
    served: set[str] = set()
    if best.is_feasible():
        routes = _routes(problem, best, client_job, shipment_job, served)
    unassigned = tuple((j.id, Unassigned.NO_ROOM) for j in jobs if j.id not in served)
    return Solution(tuple(routes), unassigned, NAME, time.monotonic() - started)


class _Reporter(IteratedLocalSearchCallbacks):
    def __init__(self, on_best: OnBest | None) -> None:
        self._on_best = on_best

    def on_best(self, best: pyvrp.Solution) -> None:
        if self._on_best is not None and best.is_feasible():
            drive = sum(int(route.travel_duration()) for route in best.routes())
            served = sum(r.num_clients() + r.num_shipments() for r in best.routes())
            self._on_best(drive, int(best.distance()), int(served))


def _routes(
    problem: Problem,
    best: pyvrp.Solution,
    client_job: list[Job],
    shipment_job: list[Job],
    served: set[str],
) -> list[PlannedRoute]:
    routes = []
    for route in best.routes():
        vehicle = problem.vehicles[route.vehicle_type()]
        stops = []
        for activity in route.schedule():
            if activity.is_depot():
                continue
            if activity.is_client():
                job, kind = client_job[activity.idx], StopKind.DELIVERY
            else:
                job = shipment_job[activity.idx]
                kind = StopKind.PICKUP if activity.is_pickup() else StopKind.DELIVERY
            visit = job.pickup if kind is StopKind.PICKUP else job.delivery
            assert visit is not None
            start = int(activity.start_time)
            stops.append(
                PlannedStop(
                    job.id, kind, visit.location, start - int(activity.wait_duration), start
                )
            )
            if kind is StopKind.DELIVERY:
                served.add(job.id)
        routes.append(
            PlannedRoute(
                vehicle_id=vehicle.id,
                stops=tuple(stops),
                start_s=int(route.start_time()),
                end_s=int(route.end_time()),
                duration_s=int(route.travel_duration()),
                distance_m=int(route.distance()),
            )
        )
    return routes


__all__ = ["NAME", "Weights", "can_solve", "solve"]
