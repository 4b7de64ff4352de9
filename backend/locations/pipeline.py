"""The location pipeline: clean → geofences, current position and fan-out → history (durable).

Every ingest path (app HTTP and WebSocket, OsmAnd, OwnTracks, Overland, the simulator)
calls :meth:`Pipeline.ingest`; it returns only once the accepted fixes are committed, and
only then does the sender get its acknowledgement.

The live views get the new position before the commit, not after it: they do not have to
wait for the disk (a group commit is a few ms when idle, tens of ms at 20,000 fixes/s).
If the commit then fails, the sender gets an error rather than an acknowledgement and
sends the batch again, so the history still gets every fix; the map only saw it early.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.config import Settings
from backend.coordination import Leases
from backend.eta.live import LiveEtas
from backend.eta.tracker import EtaConfig
from backend.geofencing.deviation import DeviationConfig
from backend.geofencing.live import LiveGeofences
from backend.geofencing.reach import Reach
from backend.geofencing.route_fences import FenceRadii
from backend.geofencing.stop_actions import StopActions
from backend.geofencing.zone_events import ZoneEvents
from backend.locations.cleaning import CleaningConfig, clean
from backend.locations.current import CurrentPositions, Position
from backend.locations.fix import DriverRef, Fix, IngestResult
from backend.locations.history import GroupCommitWriter, create_store, utc
from backend.locations.history_read import delete_received_before, latest_per_driver
from backend.locations.metrics import Counters
from backend.locations.port import PositionFanOut
from backend.locations.redis_positions import RedisPositions, merge
from backend.realtime.broker import Broker
from backend.routing.port import RouteSource

log = logging.getLogger(__name__)
RETENTION_LEASE = "lastmile:job:retention"


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    cleaning: CleaningConfig = field(default_factory=CleaningConfig)
    retention_days: float = 7.0
    retention_interval_s: float = 3600.0  # how often old history is pruned
    commit_linger_s: float = 0.002  # how long the writer gathers fixes before a commit

    @classmethod
    def from_settings(cls, settings: Settings) -> "PipelineConfig":
        return cls(
            cleaning=CleaningConfig(
                max_clock_skew_s=settings.location_max_clock_skew_s,
                max_age_s=settings.location_max_age_s,
                max_accuracy_m=settings.location_max_accuracy_m,
                max_speed_mps=settings.location_max_speed_mps,
            ),
            retention_days=settings.location_retention_days,
            commit_linger_s=settings.location_commit_linger_ms / 1000,
        )


class Pipeline:
    """Implements :class:`backend.locations.port.LocationPipeline`."""

    def __init__(
        self,
        engine: AsyncEngine,
        writer: GroupCommitWriter,
        *,
        config: PipelineConfig | None = None,
        metrics: Counters | None = None,
        fanout: PositionFanOut | None = None,
        shared: RedisPositions | None = None,
        geofences: LiveGeofences | None = None,
        clock: Callable[[], float] = time.time,
        leases: Leases | None = None,
    ) -> None:
        self.engine = engine
        self.writer = writer
        self.config = config or PipelineConfig()
        self.metrics = metrics or Counters()
        self.current = CurrentPositions()
        # Set by whoever builds the fan-out; None: nobody listens (positions are still stored).
        self.fanout = fanout
        # Current positions shared by every worker (REDIS_URL); None: this process only.
        self.shared = shared
        # Route fences, zones and depots checked against every new fix; None: no geofencing.
        self.geofences = geofences
        self._clock = clock
        # Shared by the workers (REDIS_URL): one of them prunes per interval. None: this
        # process prunes on its own.
        self.leases = leases
        self._retention: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the writer, warm the current positions from history, schedule retention."""
        self.writer.start()
        if self.shared is not None:
            self.shared.start()
        if self.geofences is not None:
            await self.geofences.start()
        for driver, fix in await latest_per_driver(self.engine):
            self.current.update(driver, fix)
            self.current.remember(driver.driver_id, [fix.recorded_at])
        self._retention = asyncio.create_task(self._retention_loop(), name="location-retention")

    async def stop(self) -> None:
        """Stop pruning and commit every pending fix (waiters get their acknowledgement)."""
        if self._retention is not None:
            self._retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retention
        await self.writer.close()
        if self.geofences is not None:
            await self.geofences.close()
        if self.shared is not None:
            await self.shared.close()

    async def ingest(self, driver: DriverRef, fixes: Sequence[Fix]) -> IngestResult:
        """Clean, move the current position, fan out, store durably; see the port."""
        now = self._clock()
        driver_id = driver.driver_id
        cleaned = clean(
            fixes,
            self.current.get(driver_id),
            now,
            self.config.cleaning,
            self.current.recent(driver_id),
        )
        history_only = cleaned.history_only
        counts = {"fixes_received": len(fixes), "fixes_accepted": len(cleaned.fixes)}
        if history_only:
            counts["fixes_history_only"] = history_only
        for r in cleaned.rejected:
            key = f"rejected_{r.reason.value}"
            counts[key] = counts.get(key, 0) + 1
        self.metrics.add_all(counts)
        if cleaned.fixes:
            accepted = cleaned.fixes
            times = [f.recorded_at for f in accepted]
            # Reserved before the awaits, so a concurrent retry of this batch is a duplicate.
            self.current.remember(driver_id, times)
            if self.geofences is not None and len(accepted) > history_only:
                # A late replay (history only) must not move anyone through a fence.
                self.geofences.check(driver, cleaned.fresh)
            newest = cleaned.newest
            if newest is not None and self.current.update(driver, newest.fix):
                if self.shared is not None:
                    self.shared.put(driver, newest.fix)
                await self._fan_out(driver, newest.fix)
            try:
                await self.writer.write(driver, accepted)
            except BaseException:
                self.current.forget(driver_id, times)
                raise
        return IngestResult(
            accepted=len(cleaned.fixes), rejected=cleaned.rejected, history_only=history_only
        )

    def forget_driver(self, org_id: int, driver_id: int) -> None:
        """A deleted driver leaves the current positions (here, and in Redis shortly)."""
        self.current.drop(driver_id)
        if self.shared is not None:
            self.shared.drop(org_id, driver_id)

    async def positions(self, org_id: int) -> list[Position]:
        """Every driver's current position in ``org_id``, by driver id: this worker's, merged
        with every other worker's through Redis when it is configured (newest fix wins). If
        Redis cannot be read, this worker's own view, rather than an error."""
        local = self.current.for_org(org_id)
        if self.shared is None:
            return sorted(local, key=lambda p: p.driver.driver_id)
        try:
            shared = await self.shared.for_org(org_id)
        except Exception:
            self.metrics.inc("shared_position_read_failures")
            log.warning("reading current positions from Redis failed", exc_info=True)
            shared = []
        return merge(local, shared)

    async def _fan_out(self, driver: DriverRef, fix: Fix) -> None:
        if self.fanout is None:
            return
        try:
            await self.fanout.position(driver, fix)
        except Exception:  # the fix is stored: a live-view failure must not fail the sender
            self.metrics.inc("fanout_failures")
            failures = self.metrics.get("fanout_failures")
            # During a broker outage every fix fails here: log the first and then a few.
            if failures in (1, 10) or failures % 1000 == 0:
                log.exception("fan-out of driver %s failed (%d so far)", driver.driver_id, failures)

    async def prune(self, now: float | None = None) -> int:
        """Delete history received more than the retention period before ``now``."""
        now = self._clock() if now is None else now
        cutoff = utc(now - self.config.retention_days * 86_400)
        deleted = await delete_received_before(self.engine, cutoff)
        self.metrics.inc("history_prunes")
        self.metrics.inc("history_rows_pruned", deleted)
        return deleted

    async def prune_once_across_workers(self) -> bool:
        """Prune unless another worker did in this interval: the lease is kept for the
        whole interval (not released after the pass), so whichever worker comes first in
        an interval prunes and the others skip it. Whether this worker pruned."""
        if self.leases is None:
            await self.prune()
            return True
        interval_s = self.config.retention_interval_s
        token = await self.leases.acquire(RETENTION_LEASE, interval_s)
        if token is None:
            self.metrics.inc("history_prunes_skipped")
            return False
        try:
            await self.prune()
        except BaseException:
            await self.leases.release(RETENTION_LEASE, token)  # the next worker may retry
            raise
        return True

    async def _retention_loop(self) -> None:
        while True:
            try:
                await self.prune_once_across_workers()
            except Exception:
                log.exception("pruning the location history failed; retrying later")
            await asyncio.sleep(self.config.retention_interval_s)


def build_pipeline(
    settings: Settings,
    engine: AsyncEngine,
    fanout: PositionFanOut | None = None,
    broker: Broker | None = None,
    routing: RouteSource | None = None,
    leases: Leases | None = None,
) -> Pipeline:
    """The pipeline for these settings: raw SQLite writer for a SQLite file, else Core.
    ``broker``: where zone events, automatic status changes and ETAs are announced (None:
    stored only); ``routing``: for the ETAs (None: no ETAs, no off-route watch);
    ``leases``: so that one worker of several prunes the history (None: this one does)."""
    config = PipelineConfig.from_settings(settings)
    metrics = Counters()
    store = create_store(settings.resolved_database_url, engine)
    writer = GroupCommitWriter(store, metrics, linger_s=config.commit_linger_s)
    shared = RedisPositions(settings.redis_url) if settings.redis_url else None
    radii = FenceRadii(
        arrival_m=settings.geofence_arrival_m,
        nearby_m=settings.geofence_nearby_m,
        dwell_s=settings.geofence_dwell_s,
    )
    etas = (
        LiveEtas(
            engine,
            routing,
            broker,
            metrics,
            config=EtaConfig(
                refresh_every_s=settings.eta_refresh_every_s,
                publish_change_s=settings.eta_publish_change_s,
            ),
            deviation=DeviationConfig(threshold_m=settings.off_route_m),
            shared=shared,
        )
        if routing is not None
        else None
    )
    geofences = LiveGeofences(
        engine,
        radii,
        metrics=metrics,
        zone_events=ZoneEvents(engine, broker, metrics),
        depot_m=settings.geofence_depot_m,
        actions=StopActions(engine, broker, metrics, grace_s=settings.left_stop_grace_s),
        etas=etas,
        reach=Reach(routing) if routing is not None else None,
    )
    return Pipeline(
        engine,
        writer,
        config=config,
        metrics=metrics,
        fanout=fanout,
        shared=shared,
        geofences=geofences,
        leases=leases,
    )
