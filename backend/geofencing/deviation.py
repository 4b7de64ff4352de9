"""Off-route detection: a driver farther than a threshold from the planned road geometry
for longer than a minute raises one OFF_ROUTE event, and one BACK_ON_ROUTE when they return.

:class:`PlannedPath` answers "how far is this point from the route" through a uniform grid
of its segments in a local metric plane, so a check costs about the same for a 50-point
route as for a 10,000-point one. :class:`DeviationDetector` holds one driver's state.

A fix counts its accuracy the way a fence check does (:mod:`backend.geofencing.engine`):
it is *off* only when its whole uncertainty circle lies beyond the threshold (distance -
accuracy > threshold), *back on* only when the whole circle lies within the back-on band
(distance + accuracy <= band, half the threshold by default, so jitter at the threshold
cannot flap). A vague fix therefore counts only when it is far from the line either way,
and the accuracy excuses at most ``max_uncertainty_m`` (default: the threshold), so an
absurd figure cannot hide a driver kilometres away. A deviation not yet reported also
ends at a fix whose whole circle lies within the threshold: "a minute off" means a minute
without evidence of being near the route. Units: metres, seconds since the Unix epoch.
"""

import itertools
import math
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from backend.geofencing.shapes import Plane
from backend.locations.fix import Fix
from shared.enums import DriverEventKind
from shared.geo import Point, bbox_of

# Per segment, in the path's plane: start (x, y), direction (dx, dy), 1 / length² (0 for a
# zero-length segment), metres from the path's start to the segment's start, length.
_Segment = tuple[float, float, float, float, float, float, float]
# The grid: per cell key (see ``_key``), where its segment numbers lie in the flat array
# (``start << _COUNT_BITS | count``); the flat array; the rows and columns it spans. Plain
# ints and one array rather than a tuple key and a tuple of numbers per cell: a route's
# grid lives until its next re-route, and thousands of small tuples per route were half of
# what the collector's young passes walked under load (bench/README, session 8).
_Grid = tuple[dict[int, int], "array[int]", tuple[int, int], tuple[int, int]]

# Cell (i, j) is the int i * _ROW + j: unique while |j| < 2**31 (cells are metres from the
# path's centre divided by at least 100 m).
_ROW = 1 << 32
_COUNT_BITS = 24  # segments filed in one cell, at most 16 M
_COUNT_MASK = (1 << _COUNT_BITS) - 1


def _key(i: int, j: int) -> int:
    return i * _ROW + j


_MAX_CELLS_ALONG = 2_000  # cells along a path at most (a long path: bigger cells)


class Nearest(NamedTuple):
    """The point of a path nearest to a query point."""

    distance_m: float
    along_m: float  # metres along the path from its first point to the nearest point
    segment: int  # the segment holding it: points[segment] to points[segment + 1]
    examined: int  # segment distances computed to answer: the index's cost


class PlannedPath:
    """The planned road geometry of a route, indexed for nearest-segment queries.

    Immutable. The path is projected on a local equirectangular plane around its bounding
    box's centre: over a city (50 km) that distorts distances by well under 1 %, i.e. a
    couple of metres at a 200 m threshold. Each segment is filed under the grid cells
    (``cell_m`` square) that its pieces of at most one cell's length touch, so a long
    straight segment costs cells along itself, not its whole bounding box.

    On a path that runs over itself (out and back along a dead end) the earliest passage
    wins a tie, so ``along_m`` there is the first time the route goes by.
    """

    __slots__ = (
        "_cell_m",
        "_grid",
        "_length_m",
        "_plane",
        "_points",
        "_segments",
    )

    def __init__(
        self, points: Sequence[Point], cell_m: float = 100.0, *, lazy: bool = False
    ) -> None:
        """``lazy``: build the grid at the first query rather than now (a path that may
        never be asked, or only from the thread that built it)."""
        if not points:
            raise ValueError("a planned path needs at least one point")
        if not cell_m > 0:
            raise ValueError("a grid cell needs a size above 0 m")
        self._points: tuple[Point, ...] = tuple(points)
        box = bbox_of(self._points)
        self._plane = plane = Plane.at(
            Point((box.min_lat + box.max_lat) / 2, (box.min_lng + box.max_lng) / 2)
        )
        xy = plane.xy_all(self._points)
        if len(xy) == 1:
            xy.append(xy[0])  # one point: one segment of zero length
        segments: list[_Segment] = []
        along = 0.0
        for (ax, ay), (bx, by) in itertools.pairwise(xy):
            dx, dy = bx - ax, by - ay
            length2 = dx * dx + dy * dy
            length = math.sqrt(length2)
            segments.append((ax, ay, dx, dy, 1.0 / length2 if length2 > 0 else 0.0, along, length))
            along += length
        if len(segments) > _COUNT_MASK:
            raise ValueError(f"a planned path has at most {_COUNT_MASK:,} segments")
        self._length_m = along
        self._segments = tuple(segments)
        # A very long path gets bigger cells, so building its index stays cheap.
        self._cell_m = max(cell_m, along / _MAX_CELLS_ALONG)
        self._grid: _Grid | None = None if lazy else self._build_grid()

    def _build_grid(self) -> "_Grid":
        """Each segment filed under the cells it touches. Most segments are shorter than a
        cell: the cells spanned by their two ends hold them (a segment lies in the box of
        its ends). A longer one is cut into pieces of at most a cell."""
        size = self._cell_m
        floor = math.floor
        # (cell key, segment) pairs as one int each, sorted: by cell, then by segment.
        filed: list[int] = []
        add = filed.append
        shift = _COUNT_BITS
        for index, (ax, ay, dx, dy, _, _, length) in enumerate(self._segments):
            if length <= size:
                i0, i1 = floor(ax / size), floor((ax + dx) / size)
                j0, j1 = floor(ay / size), floor((ay + dy) / size)
                if i0 == i1 and j0 == j1:
                    add(((i0 * _ROW + j0) << shift) | index)
                    continue
                for i in range(min(i0, i1), max(i0, i1) + 1):
                    for j in range(min(j0, j1), max(j0, j1) + 1):
                        add(((i * _ROW + j) << shift) | index)
            else:
                for key in self._cells_along(ax, ay, dx, dy, length):
                    add((key << shift) | index)
        filed.sort()
        cells: dict[int, int] = {}
        flat = array("q", bytes(8 * len(filed)))
        rows_seen: set[int] = set()
        cols_seen: set[int] = set()
        previous = None
        for position, pair in enumerate(filed):
            key = pair >> shift
            flat[position] = pair & _COUNT_MASK
            if key == previous:
                cells[key] += 1
            else:
                previous = key
                cells[key] = (position << shift) | 1
                i, j = divmod(key + (_ROW >> 1), _ROW)
                rows_seen.add(i)
                cols_seen.add(j - (_ROW >> 1))
        rows = (min(rows_seen), max(rows_seen))
        cols = (min(cols_seen), max(cols_seen))
        return cells, flat, rows, cols

    def _cells_along(self, ax: float, ay: float, dx: float, dy: float, length: float) -> set[int]:
        size = self._cell_m
        pieces = max(1, math.ceil(length / size))
        found: set[int] = set()
        for k in range(pieces):
            x0, y0 = ax + dx * k / pieces, ay + dy * k / pieces
            x1, y1 = ax + dx * (k + 1) / pieces, ay + dy * (k + 1) / pieces
            for i in range(math.floor(min(x0, x1) / size), math.floor(max(x0, x1) / size) + 1):
                for j in range(math.floor(min(y0, y1) / size), math.floor(max(y0, y1) / size) + 1):
                    found.add(i * _ROW + j)
        return found

    @property
    def points(self) -> tuple[Point, ...]:
        return self._points

    @property
    def cell_m(self) -> float:
        return self._cell_m

    @property
    def length_m(self) -> float:
        """Metres from the first point to the last, along the path."""
        return self._length_m

    def __len__(self) -> int:
        """The number of segments."""
        return len(self._segments)

    def nearest(self, lat: float, lng: float, search_m: float) -> Nearest | None:
        """The nearest point of the path if one lies within ``search_m`` metres, else None.

        Rings of cells around the point's own, nearest first, stopping as soon as no
        unvisited cell can hold anything nearer than the best so far: a point on the path
        reads one to nine cells. ``search_m`` may be ``math.inf`` (the exact distance from
        anywhere); should the rings then cost more than the path itself, every segment is
        measured once instead.
        """
        grid = self._grid
        if grid is None:
            grid = self._grid = self._build_grid()
        cells, flat, rows, cols = grid
        px, py = self._plane.xy(lat, lng)
        size = self._cell_m
        ci, cj = math.floor(px / size), math.floor(py / size)
        (row_low, row_high), (col_low, col_high) = rows, cols
        # Chebyshev ring index of the first and the last ring that meet the grid.
        first = max(row_low - ci, ci - row_high, col_low - cj, cj - col_high, 0)
        last = max(ci - row_low, row_high - ci, cj - col_low, col_high - cj)
        # Any cell of ring k >= 1 is at least this far from the point.
        edge = min(px - ci * size, (ci + 1) * size - px, py - cj * size, (cj + 1) * size - py)
        best = (search_m * search_m, -1, 0.0)  # squared distance, segment, t
        examined = visited = 0
        budget = len(self._segments) + 8
        segments = self._segments
        for k in range(first, last + 1):
            bound = edge + (k - 1) * size if k > 0 else 0.0
            if bound * bound > best[0]:
                break
            ring = _ring(ci, cj, k, rows, cols)
            visited += len(ring)
            if visited > budget:
                return self._linear(px, py, search_m)
            for cell in ring:
                where = cells.get(cell)
                if where is None:
                    continue
                start = where >> _COUNT_BITS
                count = where & _COUNT_MASK
                examined += count
                best = _scan(px, py, flat[start : start + count], segments, best)
        d2, index, t = best
        if index < 0:
            return None
        segment = segments[index]
        return Nearest(math.sqrt(d2), segment[5] + t * segment[6], index, examined)

    def _linear(self, px: float, py: float, search_m: float) -> Nearest | None:
        segments = self._segments
        d2, index, t = _scan(px, py, range(len(segments)), segments, (search_m * search_m, -1, 0.0))
        if index < 0:
            return None
        segment = segments[index]
        return Nearest(math.sqrt(d2), segment[5] + t * segment[6], index, len(segments))

    def distance_m(self, lat: float, lng: float, search_m: float = math.inf) -> float:
        """Metres from the point to the path; ``math.inf`` if more than ``search_m``."""
        found = self.nearest(lat, lng, search_m)
        return math.inf if found is None else found.distance_m


def _scan(
    px: float,
    py: float,
    indices: Iterable[int],
    segments: Sequence[_Segment],
    best: tuple[float, int, float],
) -> tuple[float, int, float]:
    """``best`` (squared distance, segment, share of the segment) or the nearest of
    ``indices``, whichever is nearer. A tie goes to the lower segment, so the answer does
    not depend on the order cells are read in. The hot loop of every check."""
    best_d2, best_index, best_t = best
    for index in indices:
        ax, ay, dx, dy, inverse, _, _ = segments[index]
        ex, ey = px - ax, py - ay
        t = (ex * dx + ey * dy) * inverse
        if t < 0.0:
            t = 0.0
        elif t > 1.0:
            t = 1.0
        fx, fy = ex - t * dx, ey - t * dy
        d2 = fx * fx + fy * fy
        if d2 < best_d2 or (d2 == best_d2 and (best_index < 0 or index < best_index)):
            best_d2, best_index, best_t = d2, index, t
    return best_d2, best_index, best_t


def _ring_offsets(k: int) -> tuple[int, ...]:
    return tuple(
        _key(di, dj)
        for di in range(-k, k + 1)
        for dj in range(-k, k + 1)
        if max(abs(di), abs(dj)) == k
    )


# The first rings, unclipped (a cell outside the grid is simply not in it), as offsets of
# cell keys: most checks read ring 0 and 1 only, and building them cell by cell cost a
# third of a check.
_NEAR_RINGS = tuple(_ring_offsets(k) for k in range(4))


def _ring(ci: int, cj: int, k: int, rows: tuple[int, int], cols: tuple[int, int]) -> list[int]:
    """The keys of the cells at Chebyshev distance ``k`` from ``(ci, cj)``; from ring 4
    on, only those inside the grid's extent."""
    if k < len(_NEAR_RINGS):
        centre = ci * _ROW + cj
        return [centre + offset for offset in _NEAR_RINGS[k]]
    row_low, row_high = rows
    col_low, col_high = cols
    j_from, j_to = max(cj - k, col_low), min(cj + k, col_high)
    cells: list[int] = []
    for i in (ci - k, ci + k):
        if row_low <= i <= row_high:
            cells.extend(i * _ROW + j for j in range(j_from, j_to + 1))
    i_from, i_to = max(ci - k + 1, row_low), min(ci + k - 1, row_high)
    for j in (cj - k, cj + k):
        if col_low <= j <= col_high:
            cells.extend(i * _ROW + j for i in range(i_from, i_to + 1))
    return cells


@dataclass(frozen=True, slots=True)
class DeviationConfig:
    """When a driver is off route, in metres and seconds."""

    threshold_m: float = 200.0  # farther than this from the path is off route...
    min_duration_s: float = 60.0  # ... once it has lasted this long
    back_on_m: float = -1.0  # back on route within this; < 0: half the threshold
    max_uncertainty_m: float = -1.0  # the most accuracy can excuse; < 0: the threshold

    def __post_init__(self) -> None:
        if not self.threshold_m > 0:
            raise ValueError("the off-route threshold must be above 0 m")
        if self.back_on_m < 0:
            object.__setattr__(self, "back_on_m", self.threshold_m / 2)
        elif self.back_on_m > self.threshold_m:
            raise ValueError("the back-on distance must not exceed the threshold")
        if self.max_uncertainty_m < 0:
            object.__setattr__(self, "max_uncertainty_m", self.threshold_m)
        if not self.min_duration_s >= 0:
            raise ValueError("the minimum duration must be 0 s or more")


RouteChange = Literal[DriverEventKind.OFF_ROUTE, DriverEventKind.BACK_ON_ROUTE]


@dataclass(frozen=True, slots=True)
class DeviationChange:
    kind: RouteChange
    fix: Fix  # the fix that caused it
    left_at: float  # epoch s: recorded_at of the first off-route fix of this deviation
    distance_m: float  # from the fix to the path (exact, however far)
    along_m: float  # metres along the path to its point nearest the fix


class DeviationDetector:
    """One driver against their planned path. Not thread-safe: one event loop owns it.

    Feed it the driver's fixes in time order; a fix no newer than the newest seen is
    skipped (a late replay must not move anyone). A deviation starts at a clearly-off fix
    and is reported by the first clearly-off fix at least ``min_duration_s`` later, unless
    a fix in between placed the driver's whole uncertainty circle within the threshold (a
    fix that cannot tell either way leaves the timer running). Once reported, only a
    clearly back-on fix ends it.
    """

    def __init__(
        self, path: PlannedPath | None = None, config: DeviationConfig | None = None
    ) -> None:
        self.config = config or DeviationConfig()
        self._path = path
        self._newest = -math.inf
        self._left_at: float | None = None  # first off fix of the current deviation
        self._reported = False

    @property
    def path(self) -> PlannedPath | None:
        return self._path

    @property
    def off_route(self) -> bool:
        """Whether an OFF_ROUTE has been reported and no BACK_ON_ROUTE yet."""
        return self._reported

    @property
    def left_at(self) -> float | None:
        """recorded_at of the first off fix of the current deviation, reported or not."""
        return self._left_at

    def replace_path(self, path: PlannedPath | None) -> None:
        """A new plan (a re-optimised route), or none. Fires nothing: a deviation not yet
        reported starts over against the new path; one already reported stays open until
        a fix is back on the new path. Without a path nothing is open any more."""
        self._path = path
        if path is None or not self._reported:
            self._left_at = None
            self._reported = False

    def update(self, fix: Fix) -> DeviationChange | None:
        """The change this fix causes, if any."""
        if fix.recorded_at <= self._newest:
            return None
        self._newest = fix.recorded_at
        path = self._path
        if path is None:
            return None
        config = self.config
        uncertainty = min(fix.accuracy_m or 0.0, config.max_uncertainty_m)
        if self._reported:
            # Back only with the whole uncertainty circle within the band: search no farther.
            reach = config.back_on_m - uncertainty
            found = path.nearest(fix.lat, fix.lng, reach) if reach >= 0 else None
            if found is None:
                return None
            assert self._left_at is not None
            change = DeviationChange(
                DriverEventKind.BACK_ON_ROUTE, fix, self._left_at, found.distance_m, found.along_m
            )
            self._reported = False
            self._left_at = None
            return change
        threshold = config.threshold_m
        # Nothing within threshold + uncertainty: the whole circle is beyond the threshold.
        found = path.nearest(fix.lat, fix.lng, threshold + uncertainty)
        if found is None:
            if self._left_at is None:
                self._left_at = fix.recorded_at
            if fix.recorded_at - self._left_at < config.min_duration_s:
                return None
            self._reported = True
            exact = path.nearest(fix.lat, fix.lng, math.inf)
            assert exact is not None  # an unbounded search always finds a segment
            return DeviationChange(
                DriverEventKind.OFF_ROUTE, fix, self._left_at, exact.distance_m, exact.along_m
            )
        if found.distance_m + uncertainty <= threshold:
            self._left_at = None  # the whole circle within the threshold: not continuously off
        return None
