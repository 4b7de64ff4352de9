"""The signed-in driver's offline work: their queue file, the loop sending it, their GPS.

Owned by the app state (:class:`driver_app.state.app.DriverAppState`): opened once the
driver has signed in (the file is per server and per driver, so a phone shared between
drivers never sends one driver's actions as another's), closed on sign-out or when the app
closes; whatever is still queued is sent after the next sign-in of the same driver.
"""

import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Self

from driver_app.services.location import LocationSource
from driver_app.services.outbox import Outbox, QueuedAction
from driver_app.services.sender import ApiSender
from driver_app.state.gps import GpsStreamer
from driver_app.state.sync import SyncLoop
from shared.api_client import ApiClient
from shared.enums import DriverStatus


def queue_path(data_dir: Path, base_url: str, driver_id: int) -> Path:
    """``data_dir/queue-<server>-driver-<id>.sqlite``: one file per server and driver."""
    server = hashlib.sha256(base_url.rstrip("/").encode()).hexdigest()[:12]
    return data_dir / f"queue-{server}-driver-{driver_id}.sqlite"


class OfflineWork:
    """``sync`` (the queue: submit actions, read what is pending and the conflicts) and
    ``gps`` (None where the app has no location source)."""

    def __init__(self, outbox: Outbox, sync: SyncLoop, gps: GpsStreamer | None) -> None:
        self.outbox, self.sync, self.gps = outbox, sync, gps

    @classmethod
    async def open(
        cls,
        client: ApiClient,
        data_dir: Path,
        driver_id: int,
        *,
        location: LocationSource | None = None,
        on_expired: Callable[[], None] = lambda: None,
        on_settled: Callable[[QueuedAction], Awaitable[None]] | None = None,
    ) -> Self:
        """Open the driver's queue and start sending it (GPS waits for :meth:`follow_shift`)."""
        outbox = await Outbox.open(queue_path(data_dir, client.base_url, driver_id))
        sync = SyncLoop(outbox, ApiSender(client), on_expired=on_expired, on_settled=on_settled)
        gps = GpsStreamer(location, sync) if location is not None else None
        sync.start()
        return cls(outbox, sync, gps)

    def follow_shift(self, status: DriverStatus | None) -> None:
        """GPS on while on shift, off (and the fixes flushed) when the shift ends."""
        if self.gps is not None:
            self.gps.follow_shift(status)

    async def aclose(self) -> None:
        """Stop the GPS and the sending, and close the file (what is queued stays)."""
        if self.gps is not None:
            await self.gps.aclose()
        await self.sync.aclose()
        await self.outbox.close()
