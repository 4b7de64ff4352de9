"""OR-Tools routing (guided local search): the general engine, used for what PyVRP cannot
express (per-vehicle skills). The only module that imports ortools."""

import time

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from backend.optimization.costs import weights_for
from backend.optimization.problem import Job, OnBest, Problem, Visit
from backend.optimization.solution import (
    PlannedRoute,
    PlannedStop,
    Solution,
    StopKind,
    Unassigned,
)

NAME = "ortools"


def solve(
    problem: Problem,
    jobs: list[Job],
    time_limit_s: float,
    seed: int,
    on_best: OnBest | None = None,
) -> Solution:
    """Route ``jobs`` (a subset of ``problem.jobs`` that each fit some vehicle alone);
    ``on_best(drive_s, distance_m, served)`` hears of each better plan found."""
    del seed  # OR-Tools' local search is deterministic for a given model and time
    started = time.monotonic()
    weights = weights_for(problem)
    vehicles = problem.vehicles
    # Nodes: one per vehicle start, one per vehicle end, then one per visit.
    n_vehicles = len(vehicles)
    node_location: list[int] = [v.start for v in vehicles]
    node_location += [v.end if v.end is not None else -1 for v in vehicles]
    node_visit: list[tuple[Job, StopKind, Visit] | None] = [None] * (2 * n_vehicles)
    for job in jobs:
        if job.pickup is not None:
            node_location.append(job.pickup.location)
            node_visit.append((job, StopKind.PICKUP, job.pickup))
        node_location.append(job.delivery.location)
        node_visit.append((job, StopKind.DELIVERY, job.delivery))
    starts = list(range(n_vehicles))
    ends = list(range(n_vehicles, 2 * n_vehicles))
    manager = pywrapcp.RoutingIndexManager(len(node_location), n_vehicles, starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    dur, dist = problem.durations, problem.distances

    def leg(matrix: tuple[tuple[int, ...], ...], a: int, b: int) -> int:
        la, lb = node_location[a], node_location[b]
        return 0 if la < 0 or lb < 0 else matrix[la][lb]  # -1: an open route's end

    def service(node: int) -> int:
        visit = node_visit[node]
        return visit[2].service_s if visit else 0

    def time_cb(i: int, j: int) -> int:
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return service(a) + leg(dur, a, b)

    def cost_cb(i: int, j: int) -> int:
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return weights.duration * leg(dur, a, b) + weights.distance * leg(dist, a, b)

    time_index = routing.RegisterTransitCallback(time_cb)
    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(cost_cb))
    if weights.vehicle:
        routing.SetFixedCostOfAllVehicles(weights.vehicle)
    horizon = max(v.shift[1] for v in vehicles)
    routing.AddDimension(time_index, horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    solver = routing.solver()
    for k, vehicle in enumerate(vehicles):
        time_dim.CumulVar(routing.Start(k)).SetRange(vehicle.shift[0], vehicle.shift[1])
        time_dim.CumulVar(routing.End(k)).SetRange(vehicle.shift[0], vehicle.shift[1])
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.Start(k)))
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(k)))

    for k, vehicle in enumerate(vehicles):
        if vehicle.breaks:
            pauses = [
                solver.FixedDurationIntervalVar(
                    b.window[0], b.window[1], b.duration_s, False, f"break-{k}-{n}"
                )
                for n, b in enumerate(vehicle.breaks)
            ]
            visits = [service(node) for node in range(len(node_location))]
            time_dim.SetBreakIntervalsOfVehicle(pauses, k, visits)

    # Capacity: drop-offs are loaded at the start (free start load, -demand at the drop-off);
    # pairs add their demand at the pickup and remove it at the drop-off.
    for d in range(problem.dimensions):

        def demand_cb(i: int, d: int = d) -> int:
            visit = node_visit[manager.IndexToNode(i)]
            if visit is None:
                return 0
            job, kind, _ = visit
            amount = problem.demand(job)[d]
            return amount if kind is StopKind.PICKUP else -amount

        caps = [min(problem.capacity(v)[d], 2**40) for v in vehicles]
        routing.AddDimensionWithVehicleCapacity(
            routing.RegisterUnaryTransitCallback(demand_cb), 0, caps, False, f"load{d}"
        )
    if any(v.max_stops for v in vehicles):

        def count_cb(i: int) -> int:
            visit = node_visit[manager.IndexToNode(i)]
            return 1 if visit and visit[1] is StopKind.DELIVERY else 0

        limits = [v.max_stops or len(jobs) + 1 for v in vehicles]
        routing.AddDimensionWithVehicleCapacity(
            routing.RegisterUnaryTransitCallback(count_cb), 0, limits, True, "stops"
        )

    pickup_index: dict[str, int] = {}
    for node in range(2 * n_vehicles, len(node_location)):
        visit = node_visit[node]
        assert visit is not None
        job, kind, where = visit
        index = manager.NodeToIndex(node)
        if where.late_cost_per_s:
            late_until = min(where.window[1] + where.max_late_s, horizon)
            time_dim.CumulVar(index).SetRange(where.window[0], max(where.window[0], late_until))
            time_dim.SetCumulVarSoftUpperBound(index, where.window[1], where.late_cost_per_s)
        else:
            time_dim.CumulVar(index).SetRange(where.window[0], where.window[1])
        if job.skills:
            allowed = [k for k, v in enumerate(vehicles) if job.skills <= v.skills]
            routing.VehicleVar(index).SetValues([-1, *allowed])
        prize = weights.priority_prize if job.priority else weights.prize
        if kind is StopKind.PICKUP:
            pickup_index[job.id] = index
            continue
        routing.AddDisjunction([index], prize)
        if job.id in pickup_index:
            p = pickup_index[job.id]
            routing.AddPickupAndDelivery(p, index)
            solver.Add(routing.VehicleVar(p) == routing.VehicleVar(index))
            solver.Add(time_dim.CumulVar(p) <= time_dim.CumulVar(index))
            solver.Add(routing.ActiveVar(p) == routing.ActiveVar(index))
            routing.AddDisjunction([p], 0)

    if on_best is not None:

        def report() -> None:
            drive = distance = served = 0
            for k in range(n_vehicles):
                index = routing.Start(k)
                while not routing.IsEnd(index):
                    nxt = routing.NextVar(index).Value()
                    a, b = manager.IndexToNode(index), manager.IndexToNode(nxt)
                    drive += leg(dur, a, b)
                    distance += leg(dist, a, b)
                    visit = node_visit[b]
                    served += bool(visit and visit[1] is StopKind.DELIVERY)
                    index = nxt
            on_best(drive, distance, served)

        routing.AddAtSolutionCallback(report)

    params = pywrapcp.DefaultRoutingSearchParameters()
    # Measured on 100 seeded pickup-delivery pairs at 3 s (bench/vrp.py): cost-based local
    # insertion 86k s of driving, parallel cheapest insertion 98k, path cheapest arc 117k.
    # Without pairs, parallel insertion also finds a start on tight windows (Solomon R101),
    # where path cheapest arc finds none.
    strategy = routing_enums_pb2.FirstSolutionStrategy
    params.first_solution_strategy = (
        strategy.LOCAL_CHEAPEST_COST_INSERTION
        if any(j.pickup is not None for j in jobs)
        else strategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    assignment = routing.SolveWithParameters(params)

    routes: list[PlannedRoute] = []
    served: set[str] = set()
    if assignment is not None:
        for k, vehicle in enumerate(vehicles):
            index = routing.Start(k)
            stops: list[PlannedStop] = []
            drive = distance = 0
            previous = manager.IndexToNode(index)
            index = assignment.Value(routing.NextVar(index))
            arrival = assignment.Value(time_dim.CumulVar(routing.Start(k)))
            while True:
                node = manager.IndexToNode(index)
                drive += leg(dur, previous, node)
                distance += leg(dist, previous, node)
                visit = node_visit[node]
                if visit is None:
                    break
                job, kind, where = visit
                start = assignment.Value(time_dim.CumulVar(index))
                prev_visit = node_visit[previous]
                depart = arrival if prev_visit is None else stops[-1].start_s + service(previous)
                arrival = depart + leg(dur, previous, node)
                stops.append(PlannedStop(job.id, kind, where.location, arrival, start))
                if kind is StopKind.DELIVERY:
                    served.add(job.id)
                previous = node
                index = assignment.Value(routing.NextVar(index))
            if not stops:
                continue
            routes.append(
                PlannedRoute(
                    vehicle_id=vehicle.id,
                    stops=tuple(stops),
                    start_s=assignment.Value(time_dim.CumulVar(routing.Start(k))),
                    end_s=assignment.Value(time_dim.CumulVar(routing.End(k))),
                    duration_s=drive,
                    distance_m=distance,
                )
            )
    unassigned = tuple((j.id, Unassigned.NO_ROOM) for j in jobs if j.id not in served)
    return Solution(tuple(routes), unassigned, NAME, time.monotonic() - started)
