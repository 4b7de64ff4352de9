"""Where simulated fixes go. The sink is pluggable: anything with an async ``send`` will do.

``MemorySink`` keeps them (tests), ``JsonlSink`` appends one JSON object per fix to a file.
The sink that posts to the public ingest endpoint (``POST /api/v1/drivers/me/locations``)
arrives with the live location pipeline (issue 4); until then the simulator writes files.
"""

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from backend.simulator.gps import Fix


class FixSink(Protocol):
    """Receives each driver's fixes in batches, in the order they were recorded."""

    async def send(self, driver_id: int, fixes: Sequence[Fix]) -> None: ...


@dataclass
class MemorySink:
    """Keeps every batch: ``batches`` as sent, ``fixes`` flattened with the driver id."""

    batches: list[tuple[int, list[Fix]]] = field(default_factory=list)

    async def send(self, driver_id: int, fixes: Sequence[Fix]) -> None:
        self.batches.append((driver_id, list(fixes)))

    @property
    def fixes(self) -> list[tuple[int, Fix]]:
        return [(driver_id, fix) for driver_id, batch in self.batches for fix in batch]


class JsonlSink:
    """Appends ``{"driver_id": …, "lat": …, …}`` lines to ``path`` (created if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0

    def _append(self, lines: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(lines)

    async def send(self, driver_id: int, fixes: Sequence[Fix]) -> None:
        if not fixes:
            return
        lines = "".join(
            json.dumps({"driver_id": driver_id, **fix.to_json()}, separators=(",", ":")) + "\n"
            for fix in fixes
        )
        await asyncio.to_thread(self._append, lines)
        self.count += len(fixes)
