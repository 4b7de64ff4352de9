"""The webhook worker: POSTs what the outbox holds, retrying with backoff for a day.

Every backend process runs one. Rows are claimed under a lease and settled under the
claim (:mod:`backend.outbox.claims`, as the notification worker does), so two workers
never send a row at once and a worker that dies mid-way loses nothing: the row goes again
after the lease, with the same ``Lastmile-Delivery`` id for the receiver to drop the copy.

A 2xx answer delivers the row. Anything else (another status, a timeout, a refused
connection, an address the URL guard refuses) is an attempt that failed: the next comes
after ``retry_base_s`` doubling (±20 % jitter, at most an hour), and the last at
``give_up_at`` (24 h after the event by default); one failing then makes the row
``failed``. Every attempt is kept in ``history``.
"""

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.config import Settings
from backend.db import session_scope
from backend.models import WebhookDelivery, WebhookEndpoint
from backend.models.types import utcnow
from backend.outbox.claims import claim_due, retry_delay_s, settle
from backend.outbox.loop import WakeOrPoll
from backend.webhooks.sender import Attempt, post, signed_headers
from shared.enums import WebhookDeliveryStatus

log = logging.getLogger(__name__)
D = WebhookDeliveryStatus


def next_attempt_at(
    now: datetime, attempts: int, give_up_at: datetime, base_s: float, jitter: float
) -> datetime | None:
    """When to try again after the ``attempts``-th failure at ``now``; None: give up.
    The last try is at ``give_up_at`` itself, so the window is used to its end."""
    if now >= give_up_at:
        return None
    delay = timedelta(seconds=retry_delay_s(attempts, base_s, jitter=jitter))
    return min(now + delay, give_up_at)


class WebhookWorker:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        allow_private: bool = False,
        timeout_s: float = 10.0,
        retry_base_s: float = 30.0,
        poll_s: float = 5.0,
        lease_s: float = 120.0,
        batch: int = 20,
        now: Callable[[], datetime] = utcnow,
        jitter: Callable[[], float] = lambda: random.uniform(-1.0, 1.0),
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._engine = engine
        self._allow_private = allow_private
        self._timeout_s = timeout_s
        self._retry_base_s = retry_base_s
        self._lease = timedelta(seconds=max(lease_s, 2 * timeout_s))
        self._batch = batch
        self._now = now
        self._jitter = jitter
        self._client = client or httpx.AsyncClient(trust_env=False)
        self._loop = WakeOrPoll("webhook-worker", self.run_once, poll_s=poll_s, batch=batch)

    def start(self) -> None:
        self._loop.start()

    async def wake(self) -> None:
        await self._loop.wake()

    async def close(self) -> None:
        await self._loop.close()
        await self._client.aclose()

    async def run_once(self) -> int:
        """Claim the due deliveries (up to a batch) and send them; how many were handled."""
        claimed = await claim_due(
            self._engine, WebhookDelivery, D.PENDING, self._now(), self._lease, self._batch
        )
        await asyncio.gather(*(self._deliver(row) for row in claimed))
        return len(claimed)

    async def _deliver(self, row: WebhookDelivery) -> None:
        assert row.id is not None
        async with session_scope(self._engine) as session:
            endpoint = await session.get(WebhookEndpoint, row.endpoint_id)
        sent_at = self._now()
        if endpoint is None or not endpoint.enabled:
            attempt = Attempt(None, "the endpoint is disabled", 0)
        else:
            body = orjson.dumps(row.payload)
            headers = signed_headers(
                endpoint.secret, body, int(sent_at.timestamp()), row.event_type, row.id
            )
            attempt = await post(
                self._client,
                endpoint.url,
                body,
                headers,
                allow_private=self._allow_private,
                timeout_s=self._timeout_s,
            )
        now = self._now()
        entry = {
            "attempt": row.attempts,
            "at": sent_at.isoformat(),
            "status_code": attempt.status_code,
            "error": attempt.error,
            "duration_ms": attempt.duration_ms,
        }
        values: dict[str, Any] = {
            "claimed_until": None,
            "history": [*row.history, entry],
            "last_status_code": attempt.status_code,
            "last_error": attempt.error[:500] if attempt.error else None,
        }
        if attempt.ok:
            values.update(status=D.DELIVERED, delivered_at=now)
        elif endpoint is None or not endpoint.enabled:
            values.update(status=D.FAILED)
        else:
            retry = next_attempt_at(
                now, row.attempts, row.give_up_at, self._retry_base_s, self._jitter()
            )
            if retry is None:
                values.update(status=D.FAILED)
            else:
                values.update(next_attempt_at=retry)
            log.warning(
                "webhook delivery %d to endpoint %d: attempt %d failed (%s); %s",
                row.id,
                row.endpoint_id,
                row.attempts,
                attempt.error,
                "given up" if retry is None else f"next at {retry.isoformat()}",
            )
        await settle(self._engine, WebhookDelivery, row, values)


def worker_for(settings: Settings, engine: AsyncEngine) -> WebhookWorker:
    return WebhookWorker(
        engine,
        allow_private=settings.webhook_allow_private,
        timeout_s=settings.webhook_timeout_s,
        retry_base_s=settings.webhook_retry_base_s,
        poll_s=settings.webhook_poll_s,
    )
