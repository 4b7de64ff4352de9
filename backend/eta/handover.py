"""Which quiet drivers another worker now hears from: their ETAs are not this worker's.

With several backend workers (``REDIS_URL``) a driver's fixes normally reach one worker,
but after a reconnect from a new address, or a worker's restart, they reach another. The
worker they left sees the driver go quiet and, left alone, would keep recomputing their
ETAs from its last fix as time passes, publishing ETAs that contradict the new worker's
and raising late risks of its own. Before recomputing a quiet driver, a worker compares
its last fix with the shared current position (every worker writes its drivers' fixes
there): a newer shared fix means another worker has the driver now, and this one lets go.
"""

from collections.abc import Mapping, Sequence
from typing import Protocol

from backend.locations.fix import DriverRef


class SharedFixTimes(Protocol):
    """The newest fix time of drivers as all the workers together know it."""

    async def recorded_at(self, drivers: Sequence[DriverRef]) -> dict[int, float]:
        """``recorded_at`` (epoch seconds) of each driver's shared current position, by
        driver id; a driver without one is left out."""
        ...


def handed_over(local: Mapping[int, float], shared: Mapping[int, float]) -> set[int]:
    """The drivers whose shared position is newer than the last fix this worker got
    (``local``: driver id -> its ``recorded_at``): another worker receives their fixes.
    Equal times are this worker's own fix seen in the shared store; no shared position
    (none written yet, or gone) proves nothing, so the driver stays."""
    return {
        driver_id
        for driver_id, last_at in local.items()
        if (newest := shared.get(driver_id)) is not None and newest > last_at
    }
