"""The loop of an outbox worker: a pass now when something was queued, otherwise every
``poll_s`` (due retries, rows other processes queued)."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class WakeOrPoll:
    """Runs ``run_once`` (how many rows it handled) whenever :meth:`wake` is called or
    ``poll_s`` passed; again at once when a full ``batch`` was handled."""

    def __init__(
        self, name: str, run_once: Callable[[], Awaitable[int]], *, poll_s: float, batch: int
    ) -> None:
        self._name = name
        self._run_once = run_once
        self._poll_s = poll_s
        self._batch = batch
        self._due = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def wake(self) -> None:
        """Something was queued and committed: look now rather than at the next poll."""
        self._due.set()

    async def _run(self) -> None:
        while True:
            self._due.clear()
            try:
                handled = await self._run_once()
            except Exception:  # the database may be briefly away; the next pass retries
                log.exception("%s: pass failed", self._name)
                handled = 0
            if handled >= self._batch:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), self._poll_s)
