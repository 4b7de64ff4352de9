"""The notification worker: sends what the outbox holds, with retries, exactly once per
row as far as the platform can tell.

Every backend process runs one. A worker *claims* a due row with a conditional update
(``claimed_until`` in the future, ``attempts + 1``) before sending it, so two workers never
send the same row at once; it then records the outcome with a second update guarded by its
own claim. If the process dies after claiming, the claim lapses (``lease_s``) and another
worker sends the row then: nothing is lost. If it dies after the channel accepted the
message but before recording it, the message goes again after the lease; the gateway's
``Idempotency-Key`` and the email's ``Message-ID`` carry the row id so a receiver can
drop the copy (no channel we speak can do better than that).

Temporary failures retry after ``base * 2**(attempt-1)`` seconds (at most an hour) until
``max_attempts``; permanent ones (an address refused) end the row at once as ``failed``.
The worker wakes when a transaction that queued something commits, and every ``poll_s``
for due retries and rows other processes queued.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_scope
from backend.models import Notification
from backend.models.types import utcnow
from backend.notifications.senders import (
    Outgoing,
    PermanentSendError,
    Sender,
    TemporarySendError,
)
from shared.enums import NotificationChannel, NotificationStatus

log = logging.getLogger(__name__)
N = NotificationStatus
RETRY_CAP_S = 3600.0


def retry_delay_s(attempts: int, base_s: float, cap_s: float = RETRY_CAP_S) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (1, 2...): doubling."""
    return float(min(cap_s, base_s * 2 ** max(0, attempts - 1)))


class NotificationWorker:
    def __init__(
        self,
        engine: AsyncEngine,
        senders: Mapping[NotificationChannel, Sender],
        *,
        poll_s: float = 5.0,
        lease_s: float = 120.0,
        max_attempts: int = 8,
        retry_base_s: float = 30.0,
        batch: int = 20,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._senders = senders
        self._poll_s = poll_s
        self._lease = timedelta(seconds=lease_s)
        self._max_attempts = max_attempts
        self._retry_base_s = retry_base_s
        self._batch = batch
        self._now = now
        self._due = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notification-worker")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for sender in self._senders.values():
            await sender.aclose()

    async def wake(self) -> None:
        """Something was queued and committed: look now rather than at the next poll."""
        self._due.set()

    async def _run(self) -> None:
        while True:
            self._due.clear()
            try:
                handled = await self.run_once()
            except Exception:  # the database may be briefly away; the next pass retries
                log.exception("notification worker pass failed")
                handled = 0
            if handled >= self._batch:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), self._poll_s)

    async def run_once(self) -> int:
        """Claim the due rows (up to a batch) and send them; how many were handled."""
        claimed = await self._claim()
        await asyncio.gather(*(self._deliver(row) for row in claimed))
        return len(claimed)

    async def _claim(self) -> list[Notification]:
        now = self._now()
        lease = now + self._lease
        free = or_(col(Notification.claimed_until).is_(None), col(Notification.claimed_until) < now)
        async with session_scope(self._engine) as session:
            due = (
                await session.exec(
                    select(Notification.id)
                    .where(Notification.status == N.PENDING, Notification.next_attempt_at <= now)
                    .where(free)
                    .order_by(col(Notification.next_attempt_at), col(Notification.id))
                    .limit(self._batch)
                )
            ).all()
            mine: list[int] = []
            for row_id in due:
                result = await session.exec(
                    update(Notification)
                    .where(col(Notification.id) == row_id, col(Notification.status) == N.PENDING)
                    .where(free)
                    .values(claimed_until=lease, attempts=col(Notification.attempts) + 1)
                )
                if result.rowcount == 1:
                    assert row_id is not None
                    mine.append(row_id)
            if not mine:
                return []
            rows = await session.exec(select(Notification).where(col(Notification.id).in_(mine)))
            return list(rows.all())

    async def _deliver(self, row: Notification) -> None:
        assert row.id is not None
        assert row.claimed_until is not None
        sender = self._senders.get(row.channel)
        outcome: NotificationStatus = N.SENT
        error: str | None = None
        try:
            if sender is None:
                raise TemporarySendError(f"no {row.channel} channel is configured")
            await sender.send(Outgoing(row.id, row.recipient, row.subject, row.body))
        except PermanentSendError as exc:
            outcome, error = N.FAILED, str(exc)
        except Exception as exc:  # TemporarySendError, or a sender's bug: try again later
            if not isinstance(exc, TemporarySendError):
                log.exception("sending notification %d failed", row.id)
            error = str(exc) or repr(exc)
            outcome = N.FAILED if row.attempts >= self._max_attempts else N.PENDING
        now = self._now()
        values: dict[str, object] = {"status": outcome, "claimed_until": None}
        if outcome is N.SENT:
            values["sent_at"] = now
            values["last_error"] = None
        else:
            values["last_error"] = (error or "")[:500]
        if outcome is N.PENDING:
            delay = retry_delay_s(row.attempts, self._retry_base_s)
            values["next_attempt_at"] = now + timedelta(seconds=delay)
            log.warning(
                "notification %d: attempt %d failed (%s); next in %.0f s",
                row.id,
                row.attempts,
                error,
                delay,
            )
        async with session_scope(self._engine) as session:
            await session.exec(
                update(Notification)
                .where(
                    col(Notification.id) == row.id,
                    col(Notification.claimed_until) == row.claimed_until,
                )
                .values(**values)
            )
