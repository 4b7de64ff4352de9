"""Every driver's current position in Redis, shared by all backend workers (``REDIS_URL``).

With several workers, a driver's fixes reach whichever worker the load balancer picks, and a
dispatcher's ``GET /api/v1/fleet/positions`` or fleet socket may land on another. Each worker
keeps its own in-memory :class:`backend.locations.current.CurrentPositions` (what cleaning
compares against) and also writes each driver's new current position here; readers merge
the two and keep the newer fix per driver.

Layout: one hash per organisation, ``lastmile:positions:{org_id}`` (field: driver id, value:
the fix as JSON) and ``lastmile:positions:{org_id}:t`` (field: driver id, value: its
``recorded_at``). A Lua script replaces a driver's entry only with a newer fix, atomically,
so two workers racing with an old and a new fix never move the position backwards.

Writes never hold up ingest: :meth:`RedisPositions.put` only queues; a background task sends
the newest queued fix per driver every ``flush_interval_s`` in one pipeline. If Redis is
down the queue keeps only the latest fix per driver and is retried; the history (the
database) is unaffected.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import orjson
import redis.asyncio as aioredis

from backend.locations.current import Position
from backend.locations.fix import DriverRef, Fix, Source

log = logging.getLogger(__name__)

KEY_PREFIX = "lastmile:positions"
TTL_S = 7 * 86_400  # an organisation whose drivers all stopped sending is forgotten after this

# KEYS[1]: positions hash, KEYS[2]: times hash; ARGV: driver id, recorded_at, fix JSON, ttl
_NEWER_ONLY = """
local known = redis.call('HGET', KEYS[2], ARGV[1])
if known and tonumber(known) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
"""


def org_key(org_id: int) -> str:
    return f"{KEY_PREFIX}:{org_id}"


def encode(fix: Fix) -> bytes:
    return orjson.dumps(
        {
            "lat": fix.lat,
            "lng": fix.lng,
            "t": fix.recorded_at,
            "rx": fix.received_at,
            "spd": fix.speed_mps,
            "hdg": fix.heading_deg,
            "acc": fix.accuracy_m,
            "alt": fix.altitude_m,
            "bat": fix.battery,
            "src": fix.source.value,
        }
    )


def decode(raw: bytes) -> Fix:
    d: dict[str, Any] = orjson.loads(raw)
    return Fix(
        lat=d["lat"],
        lng=d["lng"],
        recorded_at=d["t"],
        received_at=d["rx"],
        speed_mps=d["spd"],
        heading_deg=d["hdg"],
        accuracy_m=d["acc"],
        altitude_m=d["alt"],
        battery=d["bat"],
        source=Source(d["src"]),
    )


class RedisPositions:
    """Shared current positions; see the module docstring."""

    def __init__(self, url: str, flush_interval_s: float = 0.05) -> None:
        self._redis = aioredis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self._script = self._redis.register_script(_NEWER_ONLY)
        self._flush_interval_s = flush_interval_s
        self._pending: dict[int, tuple[DriverRef, Fix]] = {}  # driver id -> newest unsent
        self._dropped: set[tuple[int, int]] = set()  # (org, driver) to remove
        self._task: asyncio.Task[None] | None = None
        self.failures = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._flush_loop(), name="redis-positions")

    def put(self, driver: DriverRef, fix: Fix) -> None:
        """Queue ``fix`` as ``driver``'s current position (never waits)."""
        queued = self._pending.get(driver.driver_id)
        if queued is None or queued[1].recorded_at < fix.recorded_at:
            self._pending[driver.driver_id] = (driver, fix)

    def drop(self, org_id: int, driver_id: int) -> None:
        """Remove a (deleted) driver's position at the next flush."""
        self._pending.pop(driver_id, None)
        self._dropped.add((org_id, driver_id))

    async def flush(self) -> None:
        """Send what is queued now; on failure keep it queued (newer fixes still win)."""
        pending, self._pending = self._pending, {}
        dropped, self._dropped = self._dropped, set()
        if not pending and not dropped:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for org_id, driver_id in dropped:
                    pipe.hdel(org_key(org_id), str(driver_id))
                    pipe.hdel(f"{org_key(org_id)}:t", str(driver_id))
                for driver, fix in pending.values():
                    key = org_key(driver.org_id)
                    await self._script(
                        keys=[key, f"{key}:t"],
                        args=[driver.driver_id, repr(fix.recorded_at), encode(fix), TTL_S],
                        client=pipe,
                    )
                await pipe.execute()
        except Exception:
            for driver, fix in pending.values():
                self.put(driver, fix)
            self._dropped |= dropped
            raise

    async def for_org(self, org_id: int) -> list[Position]:
        """Every driver's current position in ``org_id`` as Redis has it."""
        raw = await self._redis.hgetall(org_key(org_id))
        return [
            Position(DriverRef(org_id, int(k)), decode(v.encode() if isinstance(v, str) else v))
            for k, v in raw.items()
        ]

    async def recorded_at(self, drivers: Sequence[DriverRef]) -> dict[int, float]:
        """The ``recorded_at`` of each of ``drivers``' shared current position, by driver
        id (one without a position is left out); one round trip. Implements
        :class:`backend.eta.handover.SharedFixTimes`."""
        by_org: dict[int, list[int]] = {}
        for driver in drivers:
            by_org.setdefault(driver.org_id, []).append(driver.driver_id)
        if not by_org:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for org_id, driver_ids in by_org.items():
                pipe.hmget(f"{org_key(org_id)}:t", [str(d) for d in driver_ids])
            replies = await pipe.execute()
        out: dict[int, float] = {}
        for driver_ids, values in zip(by_org.values(), replies, strict=True):
            for driver_id, value in zip(driver_ids, values, strict=True):
                if value is not None:
                    out[driver_id] = float(value)
        return out

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval_s)
            try:
                await self.flush()
            except Exception:
                self.failures += 1
                if self.failures in (1, 10) or self.failures % 100 == 0:
                    log.exception("writing current positions to Redis failed; retrying")
                await asyncio.sleep(1)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()
        await self._redis.aclose()


def merge(local: list[Position], shared: list[Position]) -> list[Position]:
    """One position per driver, the newer fix of the two views, sorted by driver id."""
    best: dict[int, Position] = {p.driver.driver_id: p for p in shared}
    for p in local:
        other = best.get(p.driver.driver_id)
        if other is None or other.fix.recorded_at < p.fix.recorded_at:
            best[p.driver.driver_id] = p
    return [best[k] for k in sorted(best)]
