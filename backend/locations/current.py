"""The current position of every driver, in memory: sub-millisecond reads, one process.

Never moved backwards: an older fix (an offline replay) leaves the position as it is.
Also remembers each driver's recently accepted ``recorded_at`` values, so a batch the phone
sends again (its acknowledgement was lost) is recognised as duplicates.
"""

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

from backend.locations.fix import DriverRef, Fix

# A driver's newest recorded_at values remembered: at least this many (~17 min of 1 Hz
# fixes, covering a retried batch of up to 500), at most twice as many.
RECENT_PER_DRIVER = 1024


def micros(recorded_at: float) -> int:
    """A ``recorded_at`` as whole microseconds: how the recent ones are remembered.

    Not as floats: a float's hash keeps its whole seconds in the low bits, so the fixes of
    one second (20 of them at 20 fixes/s) all land in one bucket of the set and every look-up
    walks them; measured as ~4 % of the server's CPU at 20,000 fixes/s once 1,000 drivers'
    windows were full. An int's low bits are its microseconds. Finite values only."""
    return int(recorded_at * 1_000_000)


@dataclass(frozen=True, slots=True)
class Position:
    driver: DriverRef
    fix: Fix


class RecentTimes:
    """One driver's newest accepted ``recorded_at`` values (as :func:`micros`), sorted, in
    one array: 8 bytes a value and nothing for the garbage collector to walk. Fixes mostly
    come in time order, so remembering one is an append and asking about one a comparison
    with the newest; a late one (an offline replay) is found or placed by bisection.

    Replaced a set plus an arrival-order deque (~70 bytes a value, three hash-table or
    deque operations a fix): at 20,000 fixes/s from 1,000 drivers, a full window (1,024
    values) each cost ~70 MB spread over the heap, touched at random by every fix."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values = array("q")

    def __contains__(self, value: object) -> bool:
        values = self._values
        if not isinstance(value, int) or not values or value > values[-1]:
            return False
        return values[bisect_left(values, value)] == value

    def __len__(self) -> int:
        return len(self._values)

    def add(self, recorded_at: Iterable[float], keep: int = RECENT_PER_DRIVER) -> None:
        """Remember these; first, if the window holds over ``2 * keep`` values, only the
        newest ``keep`` stay (so what this call adds stays until the next one)."""
        values = self._values
        if len(values) > 2 * keep:
            del values[: len(values) - keep]
        for at in recorded_at:  # a plain loop: runs for every fix
            value = int(at * 1_000_000)  # micros(at), inlined
            if not values or value > values[-1]:
                values.append(value)
            else:
                where = bisect_left(values, value)
                if values[where] != value:
                    values.insert(where, value)

    def discard(self, recorded_at: Iterable[float]) -> None:
        values = self._values
        for at in recorded_at:
            value = micros(at)
            where = bisect_left(values, value)
            if where < len(values) and values[where] == value:
                del values[where]


class CurrentPositions:
    """Current position per driver and per organisation (plain dicts, event-loop only)."""

    def __init__(self) -> None:
        self._by_driver: dict[int, Position] = {}
        self._by_org: dict[int, dict[int, Position]] = {}
        self._recent: dict[int, RecentTimes] = {}

    def get(self, driver_id: int) -> Fix | None:
        position = self._by_driver.get(driver_id)
        return position.fix if position is not None else None

    def recent(self, driver_id: int) -> RecentTimes | frozenset[int]:
        """The driver's recently accepted ``recorded_at`` values, as :func:`micros`."""
        return self._recent.get(driver_id) or frozenset()

    def remember(self, driver_id: int, recorded_at: Iterable[float]) -> None:
        recent = self._recent.get(driver_id)
        if recent is None:
            recent = self._recent[driver_id] = RecentTimes()
        recent.add(recorded_at)

    def forget(self, driver_id: int, recorded_at: Iterable[float]) -> None:
        """Undo :meth:`remember` for fixes that could not be stored."""
        recent = self._recent.get(driver_id)
        if recent is not None:
            recent.discard(recorded_at)

    def update(self, driver: DriverRef, fix: Fix) -> bool:
        """Make ``fix`` the driver's position unless it is older; True if it moved."""
        old = self._by_driver.get(driver.driver_id)
        if old is not None and old.fix.recorded_at >= fix.recorded_at:
            return False
        position = Position(driver, fix)
        self._by_driver[driver.driver_id] = position
        if old is not None and old.driver.org_id != driver.org_id:
            self._by_org.get(old.driver.org_id, {}).pop(driver.driver_id, None)
        self._by_org.setdefault(driver.org_id, {})[driver.driver_id] = position
        return True

    def drop(self, driver_id: int) -> None:
        """Forget a driver entirely (the driver was deleted)."""
        old = self._by_driver.pop(driver_id, None)
        if old is not None:
            self._by_org.get(old.driver.org_id, {}).pop(driver_id, None)
        self._recent.pop(driver_id, None)

    def for_org(self, org_id: int) -> list[Position]:
        return list(self._by_org.get(org_id, {}).values())

    def __len__(self) -> int:
        return len(self._by_driver)
