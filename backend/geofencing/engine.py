"""Enter, exit and dwell, once per transition per driver per fence.

A fix counts its accuracy: it is *in* a fence when its whole uncertainty circle is
(signed distance + accuracy ≤ 0), and *out* only when the circle is wholly beyond the
fence's hysteresis band (signed distance - accuracy > band), for two fixes in a row (one
GPS jump of a few hundred metres happens). Anything between changes nothing, so a driver
parked at the border with jittering GPS fires one enter, not enter/exit/enter. The
accuracy term is capped at half the fence's size: a 60 m fix can still arrive inside a
150 m circle.

Every fence concerns one :class:`Scope`: one driver (the stops of their route) or every
driver of one organisation (its depots and zones); there is no fence for everyone, so no
organisation's zone is ever checked against another's drivers. Checked per fix: the
fences of the fix's grid cell (:mod:`backend.geofencing.grid`) in the driver's scope and
in their organisation's, and the fences the driver is inside now (to see the exit). Fixes
older than the driver's newest checked fix are skipped: a late replay must not move anyone.
A batch of fixes whose cells hold no fence of the driver's, nor of their organisation's,
while the driver is inside none, is passed over as a whole (the common case).
"""

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, NamedTuple

from backend.geofencing.grid import Grid
from backend.geofencing.shapes import Shape, size_m
from backend.locations.fix import DriverRef, Fix
from shared.geo import BBox

_NEVER = float("-inf")
EXIT_FIXES = 2  # consecutive fixes beyond a fence's band before it is left
_NO_SCOPE = -1  # the number of a scope without fences: no cell is filed under it
_BATCH_CELLS = 9  # a batch spanning at most this many cells is first looked at as a whole


class Transition(StrEnum):
    ENTER = "enter"
    EXIT = "exit"
    DWELL = "dwell"


class Scope(NamedTuple):
    """Whom a fence concerns: one driver, or every driver of one organisation."""

    kind: Literal["driver", "org"]
    id: int

    @classmethod
    def driver(cls, driver_id: int) -> "Scope":
        return cls("driver", driver_id)

    @classmethod
    def org(cls, org_id: int) -> "Scope":
        return cls("org", org_id)


@dataclass(frozen=True, slots=True)
class Fence:
    """``key`` names it (``"stop:12:arrival"``, ``"zone:3"``...), unique across
    organisations. ``driver_id``: only that driver is checked against it (a stop on their
    route); else ``org_id``: every driver of that organisation (a depot, a zone)."""

    key: str
    shape: Shape
    driver_id: int | None = None
    org_id: int | None = None
    dwell_s: float = 60.0  # math.inf: never a dwell
    hysteresis_m: float = field(default=-1.0)  # < 0: 20 % of the fence's size, at least 15 m
    max_uncertainty_m: float = field(default=-1.0)  # < 0: half the fence's size

    def __post_init__(self) -> None:
        if self.driver_id is None and self.org_id is None:
            raise ValueError(f"fence {self.key} concerns nobody: give a driver_id or an org_id")
        size = size_m(self.shape)
        if self.hysteresis_m < 0:
            object.__setattr__(self, "hysteresis_m", max(15.0, 0.2 * size))
        if self.max_uncertainty_m < 0:
            object.__setattr__(self, "max_uncertainty_m", size / 2)
        if self.dwell_s < 0:
            raise ValueError("dwell must be 0 s or more")

    @property
    def scope(self) -> Scope:
        if self.driver_id is not None:
            return Scope.driver(self.driver_id)
        assert self.org_id is not None
        return Scope.org(self.org_id)


@dataclass(frozen=True, slots=True)
class FenceEvent:
    driver_id: int
    fence: Fence
    transition: Transition
    fix: Fix  # the fix that caused it


@dataclass(slots=True)
class _Inside:
    since: float  # recorded_at of the fix that entered
    dwelled: bool = False
    beyond: int = 0  # consecutive fixes beyond the band so far


class GeofenceEngine:
    """Fences and who is inside which. Not thread-safe: one event loop owns it."""

    def __init__(self, cell_deg: float = 0.005) -> None:
        self._fences: dict[str, Fence] = {}
        self._scopes: dict[Scope, set[str]] = {}
        # The grid files fences under a number per scope: a fix's lookups then hash ints.
        self._scope_numbers: dict[Scope, int] = {}
        self._grid: Grid[str, int] = Grid(cell_deg)
        self._inside: dict[int, dict[str, _Inside]] = {}
        self._newest: dict[int, float] = {}
        self.evaluations = 0  # fix-fence checks made, for the bench and metrics

    def __len__(self) -> int:
        return len(self._fences)

    def get(self, key: str) -> Fence | None:
        return self._fences.get(key)

    def put(self, fence: Fence) -> None:
        """Add ``fence``, or replace the fence of that key (who is inside stays inside)."""
        old = self._fences.get(fence.key)
        scope = fence.scope
        if old is not None and old.scope != scope:
            for inside in self._inside.values():  # reassigned: the old driver is out of it
                inside.pop(fence.key, None)
            self._scopes[old.scope].discard(fence.key)
        self._fences[fence.key] = fence
        self._scopes.setdefault(scope, set()).add(fence.key)
        number = self._scope_numbers.setdefault(scope, len(self._scope_numbers))
        self._grid.add(fence.key, fence.shape.bbox(), number)

    def put_all(self, fences: Iterable[Fence]) -> None:
        for fence in fences:
            self.put(fence)

    def remove(self, key: str) -> None:
        """Forget a fence (a stop done or cancelled): it fires nothing more, not even exit."""
        fence = self._fences.pop(key, None)
        if fence is None:
            return
        self._scopes[fence.scope].discard(key)
        self._grid.remove(key)
        for inside in self._inside.values():
            inside.pop(key, None)

    def keys_of(self, scope: Scope) -> set[str]:
        """The keys of the fences of ``scope``."""
        return set(self._scopes.get(scope, ()))

    def replace_scope(self, scope: Scope, fences: Iterable[Fence]) -> None:
        """Make ``fences`` the whole set of ``scope``'s fences: new ones added, changed
        ones replaced, missing ones removed."""
        wanted = {f.key: f for f in fences}
        for fence in wanted.values():
            if fence.scope != scope:
                raise ValueError(f"fence {fence.key} belongs to {fence.scope}, not {scope}")
        for key in self.keys_of(scope) - wanted.keys():
            self.remove(key)
        for key, fence in wanted.items():
            if self._fences.get(key) != fence:
                self.put(fence)

    def inside(self, driver_id: int) -> set[str]:
        """The keys of the fences ``driver_id`` is inside now."""
        return set(self._inside.get(driver_id, ()))

    def is_inside_any(self, driver_id: int) -> bool:
        """Whether ``driver_id`` is inside any fence now (no copy: the per-batch question)."""
        return driver_id in self._inside

    def forget_driver(self, driver_id: int) -> None:
        self._inside.pop(driver_id, None)
        self._newest.pop(driver_id, None)

    def check(self, driver: DriverRef, fixes: Sequence[Fix]) -> list[FenceEvent]:
        """The transitions ``fixes`` (one driver's, in any order) cause, in time order,
        against the driver's own fences and their organisation's."""
        events: list[FenceEvent] = []
        driver_id = driver.driver_id
        numbers = self._scope_numbers
        scopes = (
            numbers.get(Scope.driver(driver_id), _NO_SCOPE),
            numbers.get(Scope.org(driver.org_id), _NO_SCOPE),
        )
        if not fixes:
            return events
        if driver_id not in self._inside and self._nothing_near(scopes, fixes):
            # The common case, a whole batch at once: no fence in any cell the batch spans.
            newest = max(f.recorded_at for f in fixes)
            if newest > self._newest.get(driver_id, _NEVER):
                self._newest[driver_id] = newest
            return events
        ordered = fixes if _in_order(fixes) else sorted(fixes, key=lambda f: f.recorded_at)
        for fix in ordered:
            if fix.recorded_at <= self._newest.get(driver_id, _NEVER):
                continue
            self._newest[driver_id] = fix.recorded_at
            self._check_one(driver_id, scopes, fix, events)
        return events

    def _nothing_near(self, scopes: tuple[int, int], fixes: Sequence[Fix]) -> bool:
        """Whether no fence of ``scopes`` is filed under any cell of the batch's bounding
        box (a batch spread over more than a few cells is looked at fix by fix instead)."""
        lats = [f.lat for f in fixes]
        lngs = [f.lng for f in fixes]
        box = BBox(min(lats), min(lngs), max(lats), max(lngs))
        return self._grid.any_under(scopes, box, _BATCH_CELLS) is False

    def _check_one(
        self, driver_id: int, scopes: tuple[int, int], fix: Fix, events: list[FenceEvent]
    ) -> None:
        grid = self._grid
        cell = grid.cell(fix.lat, fix.lng)
        own, org = grid.at(scopes[0], cell), grid.at(scopes[1], cell)
        inside = self._inside.get(driver_id)
        if not (own or org or inside):
            return  # the common case: nowhere near a fence
        keys: set[str] = set(inside) if inside else set()
        if own:
            keys |= own
        if org:
            keys |= org
        accuracy = fix.accuracy_m or 0.0
        fences = self._fences
        self.evaluations += len(keys)
        for key in keys:
            fence = fences[key]
            uncertainty = min(accuracy, fence.max_uncertainty_m)
            state = inside.get(key) if inside else None
            if state is None:
                if fence.shape.within(fix.lat, fix.lng, uncertainty):
                    if inside is None:
                        inside = self._inside[driver_id] = {}
                    inside[key] = _Inside(fix.recorded_at, dwelled=fence.dwell_s == 0)
                    events.append(FenceEvent(driver_id, fence, Transition.ENTER, fix))
                    if fence.dwell_s == 0:
                        events.append(FenceEvent(driver_id, fence, Transition.DWELL, fix))
                continue
            if fence.shape.beyond(fix.lat, fix.lng, uncertainty + fence.hysteresis_m):
                state.beyond += 1
                if state.beyond < EXIT_FIXES:
                    continue  # one GPS jump is not a departure
                assert inside is not None
                del inside[key]
                if not inside:
                    del self._inside[driver_id]
                    inside = None
                events.append(FenceEvent(driver_id, fence, Transition.EXIT, fix))
                continue
            state.beyond = 0
            if not state.dwelled and fix.recorded_at - state.since >= fence.dwell_s:
                state.dwelled = True
                events.append(FenceEvent(driver_id, fence, Transition.DWELL, fix))


def _in_order(fixes: Sequence[Fix]) -> bool:
    return all(a.recorded_at <= b.recorded_at for a, b in itertools.pairwise(fixes))
