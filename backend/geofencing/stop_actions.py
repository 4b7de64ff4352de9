"""Applying what :mod:`backend.geofencing.stop_rules` saw to the orders, off the pipeline.

* **arrived**: the stop's actual arrival time (unless already known), an ``arrived``
  event on the order's timeline, "arriving" for a drop-off still en route, and an
  ``at_stop`` message on the driver's channel (the app opens the stop's screen).
* **arriving**: the order goes ``en_route → arriving``; the event says
  ``notify_customer`` (the tracking page shows it at once; texts and e-mails are the
  notification service's business).
* **departed** from a pickup: ``picked_up → en_route``.
* **left without proof**: after ``grace_s`` (a delivery confirmed from a phone that was
  a little behind still counts), if the order is still unfinished there, a
  ``left_without_proof`` event: the dispatcher's exception; not a second one for the same
  visit (another worker, which had the driver's fixes before, may have reported it).

Every change carries the fix that caused it, and none is made when anybody changed the
order's status after that fix (:func:`backend.orders.transitions.system_transition`).
:meth:`StopActions.handle` only queues; one task applies in order and publishes once
committed. Failures are counted (``stop_action_failures``), never raised at the sender.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.db import after_commit, pending_messages, session_scope
from backend.geofencing.stop_rules import StopAction, StopActionKind
from backend.locations.fix import DriverRef, Fix
from backend.locations.metrics import Counters
from backend.models import Order, OrderEvent, Stop
from backend.orders import events
from backend.orders.transitions import system_transition
from backend.realtime.broker import Broker
from shared.channels import driver_channel
from shared.enums import EventKind, OrderStatus, StopKind

log = logging.getLogger(__name__)

S = OrderStatus
# The order states in which a stop of that kind is still to be served.
_UNSERVED = {
    StopKind.PICKUP: frozenset({S.ASSIGNED, S.EN_ROUTE_TO_PICKUP}),
    StopKind.DROPOFF: frozenset({S.EN_ROUTE, S.ARRIVING}),
}


def _at(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


async def _departure_reported(session: AsyncSession, order: Order) -> bool:
    """Whether the order's last arrival was already followed by a "left without proof"
    (another worker saw the departure before the driver's fixes came here)."""
    last = await session.exec(
        select(OrderEvent.kind)
        .where(
            OrderEvent.order_id == order.id,
            col(OrderEvent.kind).in_([EventKind.ARRIVED, EventKind.LEFT_WITHOUT_PROOF]),
        )
        .order_by(col(OrderEvent.id).desc())
        .limit(1)
    )
    return last.first() == EventKind.LEFT_WITHOUT_PROOF


def fix_details(fix: Fix) -> dict[str, Any]:
    """The fix behind an automatic change, for the event's details."""
    return {
        "recorded_at": _at(fix.recorded_at).isoformat(),
        "lat": fix.lat,
        "lng": fix.lng,
        "accuracy_m": fix.accuracy_m,
        "speed_mps": fix.speed_mps,
    }


class StopActions:
    def __init__(
        self,
        db: AsyncEngine,
        broker: Broker | None = None,
        metrics: Counters | None = None,
        *,
        grace_s: float = 120.0,
        on_applied: Callable[[int], None] | None = None,
    ) -> None:
        self._db = db
        self._broker = broker
        self.metrics = metrics or Counters()
        self.grace_s = grace_s
        self.on_applied = on_applied  # driver_id: their stops changed (reload them)
        self._queue: asyncio.Queue[tuple[DriverRef, StopAction]] = asyncio.Queue(10_000)
        self._task: asyncio.Task[None] | None = None
        self._later: set[asyncio.Task[None]] = set()

    def handle(self, driver: DriverRef, actions: Sequence[StopAction]) -> None:
        for action in actions:
            try:
                self._queue.put_nowait((driver, action))
            except asyncio.QueueFull:
                self.metrics.inc("stop_actions_dropped")

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="stop-actions")

    async def drain(self) -> None:
        """Wait until everything queued so far is applied (tests)."""
        await self._queue.join()

    async def close(self) -> None:
        for task in [self._task, *self._later]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = None

    async def _loop(self) -> None:
        while True:
            driver, action = await self._queue.get()
            try:
                await self.apply(driver, action)
            except Exception:
                self.metrics.inc("stop_action_failures")
                log.exception("applying %s at stop %s failed", action.kind, action.stop.stop_id)
            finally:
                self._queue.task_done()

    async def apply(self, driver: DriverRef, action: StopAction) -> bool:
        """Apply one action now; True when it changed something."""
        if action.kind is StopActionKind.LEFT_WITHOUT_PROOF and self.grace_s > 0:
            task = asyncio.create_task(self._after_grace(driver, action))
            self._later.add(task)
            task.add_done_callback(self._later.discard)
            return False
        return await self._apply_now(driver, action)

    async def _after_grace(self, driver: DriverRef, action: StopAction) -> None:
        await asyncio.sleep(self.grace_s)
        try:
            await self._apply_now(driver, action)
        except Exception:
            self.metrics.inc("stop_action_failures")
            log.exception("checking the departure from stop %s failed", action.stop.stop_id)

    async def _apply_now(self, driver: DriverRef, action: StopAction) -> bool:
        async with session_scope(self._db) as session:
            changed = await self._apply_in(session, driver, action)
        for channel, message in pending_messages(session):
            if self._broker is not None:
                await self._broker.publish(channel, message)
        if changed:
            self.metrics.inc(f"stop_{action.kind.value}")
            if self.on_applied is not None:
                self.on_applied(driver.driver_id)
        return changed

    async def _apply_in(self, session: AsyncSession, driver: DriverRef, action: StopAction) -> bool:
        stop = await session.get(Stop, action.stop.stop_id)
        order = await session.get(Order, action.stop.order_id)
        if stop is None or order is None or order.org_id != driver.org_id:
            return False
        if order.driver_id != driver.driver_id:
            return False  # reassigned meanwhile: not this driver's stop any more
        fix = action.fix
        seen_at = _at(fix.recorded_at)
        details: dict[str, Any] = {
            "source": "geofence",
            "stop_id": stop.id,
            "stop_kind": stop.kind,
            "fix": fix_details(fix),
        }
        status = OrderStatus(order.status)
        kind = StopKind(stop.kind)
        match action.kind:
            case StopActionKind.ARRIVED:
                if status not in _UNSERVED[kind]:
                    return False
                if stop.actual_arrival_at is None:
                    stop.actual_arrival_at = _at(action.at)
                    session.add(stop)
                await events.record(
                    session,
                    order,
                    EventKind.ARRIVED,
                    None,
                    lat=fix.lat,
                    lng=fix.lng,
                    details={**details, "arrived_at": _at(action.at).isoformat()},
                )
                if kind is StopKind.DROPOFF and status is S.EN_ROUTE:
                    await system_transition(
                        session, order, S.ARRIVING, expected=S.EN_ROUTE, observed_at=seen_at,
                        lat=fix.lat, lng=fix.lng, details={**details, "notify_customer": True},
                    )  # fmt: skip
                self._tell_driver(session, driver, stop, order, action)
                return True
            case StopActionKind.ARRIVING:
                return await system_transition(
                    session, order, S.ARRIVING, expected=S.EN_ROUTE, observed_at=seen_at,
                    lat=fix.lat, lng=fix.lng, details={**details, "notify_customer": True},
                )  # fmt: skip
            case StopActionKind.DEPARTED:
                if kind is not StopKind.PICKUP:
                    return False
                return await system_transition(
                    session, order, S.EN_ROUTE, expected=S.PICKED_UP, observed_at=seen_at,
                    lat=fix.lat, lng=fix.lng, details=details,
                )  # fmt: skip
            case StopActionKind.LEFT_WITHOUT_PROOF:
                if status not in _UNSERVED[kind]:
                    return False  # delivered, failed or picked up meanwhile
                if await _departure_reported(session, order):
                    return False  # by the worker that had the driver's fixes before
                await events.record(
                    session, order, EventKind.LEFT_WITHOUT_PROOF, None,
                    lat=fix.lat, lng=fix.lng, details=details,
                )  # fmt: skip
                return True
        return False

    @staticmethod
    def _tell_driver(
        session: AsyncSession, driver: DriverRef, stop: Stop, order: Order, action: StopAction
    ) -> None:
        message = {
            "type": "at_stop",
            "stop_id": stop.id,
            "order_id": order.id,
            "kind": stop.kind,
            "arrived_at": _at(action.at).isoformat(),
        }
        after_commit(session, driver_channel(driver.driver_id), orjson.dumps(message))
