"""The KPIs of a range of days (today, the last 7 or 30), as the server counts them."""

import asyncio
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from app_kit.clock import local_timezone, utc_now
from app_kit.loading import ServerState
from dispatcher_app.logic.kpis import RANGES, date_range, zone_name
from shared.api_client import ApiClient
from shared.schemas.kpis import KpiReport, KpiWindowReport

_FIGURES = frozenset({"delivered", "failed"})


class KpisState(ServerState):
    """The report for the range picked (``range_choice``: a key of ``RANGES``), days
    counted in the dispatcher's time zone; read again ``settle_s`` after the fleet socket
    tells of a delivery or a failure (a burst of them costs one read)."""

    def __init__(
        self,
        client: ApiClient,
        *,
        on_expired: Callable[[], None],
        now: Callable[[], datetime] = utc_now,
        tz: tzinfo | None = None,
        settle_s: float = 3.0,
    ) -> None:
        super().__init__(client, on_expired=on_expired)
        self._now = now
        self.tz = tz or local_timezone()
        self._settle_s = settle_s
        self._soon: asyncio.Task[None] | None = None
        self.clear()

    def heard(self, frame: dict[str, Any]) -> None:
        """A frame of the fleet socket: a delivery or a failure changes the figures."""
        if frame.get("type") != "order_event" or frame.get("to_status") not in _FIGURES:
            return
        if self.report is None or (self._soon is not None and not self._soon.done()):
            return
        self._soon = asyncio.get_running_loop().create_task(self._reload_soon())

    async def _reload_soon(self) -> None:
        await asyncio.sleep(self._settle_s)
        await self.load()

    def clear(self) -> None:
        if self._soon is not None:
            self._soon.cancel()
            self._soon = None
        self._forget_reads()
        self.range_choice = "today"
        self.report: KpiReport | None = None
        self.windows: KpiWindowReport | None = None  # SLA adherence per window slot
        self.error = None
        self.notify()

    async def set_range(self, choice: str) -> None:
        if choice not in RANGES:
            self.error = f"unknown range {choice!r}"
            self.notify()
            return
        self.range_choice = choice
        await self.load()

    async def load(self) -> None:
        """Fetch the report of the range picked and its window slots (after sign-in, on
        Refresh, on a change)."""
        first, last = date_range(self.range_choice, self._now().astimezone(self.tz).date())
        zone = zone_name(self.tz)
        got = await self._read(
            lambda: asyncio.gather(
                self._client.kpis(first, last, zone), self._client.kpi_windows(first, last, zone)
            )
        )
        if got is None:
            return
        self.report, self.windows = got.value
        self.notify()
