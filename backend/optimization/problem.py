"""The routing problem the engines solve: immutable, plain data, no framework or I/O.

Units: seconds (times are seconds from the plan's epoch, e.g. midnight of the service day),
metres, and integer amounts per capacity dimension (e.g. grams, litres, parcels). Locations
are indexes into the ``durations`` and ``distances`` matrices (``[from][to]``).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

UNBOUNDED = 2**40  # an open time window or shift end

# An engine reports each better plan it finds: (route durations s, distance m, jobs served).
OnBest = Callable[[int, int, int], None]


@dataclass(frozen=True, slots=True)
class Visit:
    """One place a job takes the vehicle to."""

    location: int
    service_s: int = 0
    window: tuple[int, int] = (0, UNBOUNDED)  # start service within (waiting if early)
    # 0: the window's end is hard. Otherwise the end is soft: service may start up to
    # ``max_late_s`` after it, at this cost per second late (same unit as a second of driving
    # costs 100: see backend.optimization.costs).
    late_cost_per_s: int = 0
    max_late_s: int = 3600


@dataclass(frozen=True, slots=True)
class Job:
    """An order to serve: a drop-off, or a pickup and then its drop-off on the same vehicle."""

    id: str
    delivery: Visit
    pickup: Visit | None = None
    demand: tuple[int, ...] = ()  # per capacity dimension; loaded at the depot or the pickup
    skills: frozenset[str] = frozenset()  # the vehicle must have all of them
    priority: bool = False  # never dropped while a normal job is served


@dataclass(frozen=True, slots=True)
class Break:
    """A pause of ``duration_s`` the driver takes, starting within ``window``."""

    window: tuple[int, int]
    duration_s: int


@dataclass(frozen=True, slots=True)
class Vehicle:
    id: str
    start: int  # location
    end: int | None  # location; None: the route ends at its last stop
    shift: tuple[int, int] = (0, UNBOUNDED)  # leave the start from, be back (or done) by
    capacity: tuple[int, ...] = ()  # per dimension; missing dimensions mean unlimited
    skills: frozenset[str] = frozenset()
    max_stops: int | None = None
    breaks: tuple[Break, ...] = ()


@dataclass(frozen=True, slots=True)
class Problem:
    durations: tuple[tuple[int, ...], ...]
    distances: tuple[tuple[int, ...], ...]
    vehicles: tuple[Vehicle, ...]
    jobs: tuple[Job, ...]
    minimise_vehicles: bool = False
    objective: str = "time"  # "time": drive time, then distance; "distance": distance only
    dimensions: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        n = len(self.durations)
        if any(len(row) != n for row in self.durations) or len(self.distances) != n:
            raise ValueError("durations and distances must be square matrices of one size")
        dims = max(
            [len(v.capacity) for v in self.vehicles] + [len(j.demand) for j in self.jobs] + [0]
        )
        object.__setattr__(self, "dimensions", dims)
        if self.objective not in ("time", "distance"):
            raise ValueError("objective: 'time' or 'distance'")
        ids = [j.id for j in self.jobs]
        if len(set(ids)) != len(ids):
            raise ValueError("job ids must be unique")

    @property
    def has_pairs(self) -> bool:
        return any(j.pickup is not None for j in self.jobs)

    @property
    def has_skills(self) -> bool:
        return any(j.skills for j in self.jobs)

    @property
    def has_breaks(self) -> bool:
        return any(v.breaks for v in self.vehicles)

    @property
    def has_soft_windows(self) -> bool:
        return any(
            v.late_cost_per_s
            for j in self.jobs
            for v in ((j.delivery, j.pickup) if j.pickup else (j.delivery,))
            if v is not None
        )

    def demand(self, job: Job) -> tuple[int, ...]:
        return job.demand + (0,) * (self.dimensions - len(job.demand))

    def capacity(self, vehicle: Vehicle) -> tuple[int, ...]:
        return vehicle.capacity + (UNBOUNDED,) * (self.dimensions - len(vehicle.capacity))
