"""The seams between ingest, the pipeline and fan-out, so each side can be built alone."""

from collections.abc import Sequence
from typing import Protocol

from backend.locations.fix import DriverRef, Fix, IngestResult


class LocationPipeline(Protocol):
    """Clean, update the current position, fan out, store durably. Called by every ingest
    path (app HTTP/WebSocket, OsmAnd, OwnTracks, Overland, the simulator)."""

    async def ingest(self, driver: DriverRef, fixes: Sequence[Fix]) -> IngestResult:
        """Return only once every accepted fix is durable (committed): an acknowledged fix
        survives a crash of the server process right after."""
        ...


class PositionFanOut(Protocol):
    """Receives each driver's new current position as soon as it is cleaned (the history
    commit follows; see :mod:`backend.locations.pipeline`)."""

    async def position(self, driver: DriverRef, fix: Fix) -> None: ...
