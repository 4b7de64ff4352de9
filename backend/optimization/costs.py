"""One objective for both engines, in integers: drive time first, then distance (or distance
alone, the convention of the Solomon benchmarks), optionally fewest vehicles first; and the
prizes that make dropping a job always cost more than serving it."""

from dataclasses import dataclass

from backend.optimization.problem import Problem

DURATION_WEIGHT = 100  # a second of driving outweighs any plausible metre of detour...
DISTANCE_WEIGHT = 1  # ...so time is minimised first, distance breaks ties


@dataclass(frozen=True, slots=True)
class Weights:
    duration: int
    distance: int
    vehicle: int  # fixed cost of using a vehicle (0 unless minimising vehicles)
    prize: int  # what serving a normal job is worth: more than any detour to it
    priority_prize: int  # a priority job: worth more than the normal ones it displaces


def weights_for(problem: Problem) -> Weights:
    duration, distance = (
        (0, 1) if problem.objective == "distance" else (DURATION_WEIGHT, DISTANCE_WEIGHT)
    )
    longest = max((max(row) for row in problem.durations), default=0)
    farthest = max((max(row) for row in problem.distances), default=0)
    detour = 4 * (longest * duration + farthest * distance) + 1
    vehicle = detour * (len(problem.jobs) + 1) if problem.minimise_vehicles else 0
    prize = vehicle + detour
    # A priority job outweighs the normal jobs its room could hold instead (heuristic bound:
    # 20; exact "never dropped for a normal one" is checked by the tests on both engines).
    return Weights(duration, distance, vehicle, prize, prize * 20)
