"""The driver's position, taken at the pace :mod:`driver_app.logic.gps_pacing` sets and
put in the offline queue, from the start of the shift to its end.

Where there is no GPS (a desktop, a browser that was refused location) the streamer says
so in ``message`` and stops: the rest of the app works without it. A signal lost for a
while (a tunnel, a car park) is looked for again at the stopped pace.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import ValidationError

from app_kit.observable import Observable
from driver_app.logic.gps_pacing import Motion, Pacer, PacingConfig, Sample, streams_in
from driver_app.services.location import Access, LocationSource, NoPositionError, Reading
from shared.enums import DriverStatus
from shared.schemas.locations import FixIn

log = logging.getLogger(__name__)

NO_PERMISSION = (
    "Location is blocked for this app, so dispatch cannot see where you are. "
    "Allow location in the browser or phone settings, then go on shift again."
)
NO_GPS = (
    "This device gives no position (no GPS, or location is switched off), so dispatch "
    "cannot see where you are. Use a phone with location on to share your position."
)


class FixSink(Protocol):
    """Where fixes go: the offline queue (:class:`driver_app.state.sync.SyncLoop`)."""

    async def add_fix(self, fix: FixIn) -> None: ...

    def flush_fixes(self) -> None: ...


class GpsState(StrEnum):
    OFF = "off"  # off shift
    STARTING = "starting"  # asking for permission
    ON = "on"  # fixes are being taken
    SEARCHING = "searching"  # no signal for now; looking again
    UNAVAILABLE = "unavailable"  # no GPS or no permission: ``message`` says which


class GpsStreamer(Observable):
    """Takes fixes from ``source`` while the driver is on shift. For the UI: ``state``,
    ``message`` (why there is no position), ``last_fix_at``, ``motion`` and ``interval_s``."""

    def __init__(
        self,
        source: LocationSource,
        sink: FixSink,
        *,
        pacing: PacingConfig | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        battery: Callable[[], float | None] = lambda: None,
    ) -> None:
        super().__init__()
        self._source = source
        self._sink = sink
        self._pacing = pacing or PacingConfig()
        self._sleep = sleep
        self._monotonic = monotonic
        self._battery = battery
        self._task: asyncio.Task[None] | None = None
        self._on_shift: bool | None = None  # what follow_shift last saw
        self.state = GpsState.OFF
        self.message: str | None = None
        self.last_fix_at: datetime | None = None
        self.last_position: tuple[float, float] | None = None  # (lat, lng) of that fix
        self.motion: Motion | None = None
        self.interval_s: float | None = None
        self.fixes_taken = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def follow_shift(self, status: DriverStatus | None) -> None:
        """Stream while on shift (:func:`streams_in`), stop when the shift ends. Only a
        change of shift counts: a driver without GPS is not asked again at every reload,
        only when they go on shift again."""
        on_shift = streams_in(status)
        if on_shift == self._on_shift:
            return
        self._on_shift = on_shift
        if on_shift:
            self.start()
        else:
            self.stop()

    def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="driver-gps")

    def stop(self) -> None:
        """Stop taking fixes, and send what is queued without waiting for a full batch."""
        was_on = self._task is not None
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if was_on:
            self._sink.flush_fixes()
        self._set(GpsState.OFF, None)

    async def aclose(self) -> None:
        task = self._task
        self.stop()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _set(self, state: GpsState, message: str | None) -> None:
        if (self.state, self.message) != (state, message):
            self.state, self.message = state, message
            self.notify()

    async def _run(self) -> None:
        try:
            await self._stream()
        except Exception:  # a source or a queue that broke: no position, said so
            log.exception("GPS streaming stopped")
            self._set(GpsState.UNAVAILABLE, NO_GPS)

    async def _stream(self) -> None:
        self._set(GpsState.STARTING, None)
        access = await self._source.access()
        if access is not Access.GRANTED:
            self._set(GpsState.UNAVAILABLE, NO_PERMISSION if access is Access.DENIED else NO_GPS)
            return
        pacer = Pacer(self._pacing)
        while True:
            began = self._monotonic()
            try:
                reading = await self._source.read()
            except NoPositionError as exc:
                if exc.lasting:
                    self._set(GpsState.UNAVAILABLE, NO_GPS)
                    return
                self._set(GpsState.SEARCHING, exc.reason)
                await self._sleep(self._pacing.stopped_min_s)
                continue
            interval_s = pacer.observe(
                Sample(reading.recorded_at.timestamp(), reading.lat, reading.lng, reading.speed_mps)
            )
            await self._keep(reading)
            self.motion, self.interval_s = pacer.motion, interval_s
            self._set(GpsState.ON, None)
            self.notify()
            # The interval runs from one reading's start to the next (a read may be slow).
            await self._sleep(max(0.0, interval_s - (self._monotonic() - began)))

    async def _keep(self, reading: Reading) -> None:
        try:
            fix = FixIn(
                lat=reading.lat,
                lng=reading.lng,
                recorded_at=reading.recorded_at,
                speed_mps=reading.speed_mps,
                heading_deg=reading.heading_deg,
                accuracy_m=reading.accuracy_m,
                altitude_m=reading.altitude_m,
                battery=self._battery(),
            )
        except ValidationError:
            log.warning("skipping an unusable fix: %s", reading)
            return
        await self._sink.add_fix(fix)
        self.last_fix_at = reading.recorded_at
        self.last_position = (reading.lat, reading.lng)
        self.fixes_taken += 1
