"""Sending the offline queue: the driver never waits for the network.

Every action goes into the :class:`~driver_app.services.outbox.Outbox` first (``submit``
returns as soon as it is on disk) and one loop sends them, oldest first, one at a time: an
action never overtakes an earlier one. For each answer (:func:`~driver_app.logic.
sync_policy.verdict`):

* success: done, and the next one goes at once;
* no answer, a 5xx or a 429: the same action again after a pause that doubles (with jitter)
  up to a minute, and starts over after a success (:class:`~driver_app.logic.sync_policy.
  Backoff`); a lost answer is harmless, the server answers a replayed client id with its
  first answer;
* 409 (the order was reassigned or cancelled meanwhile): a *conflict* with a message in
  plain words for the driver, and on to the next;
* another 4xx: *failed* with the server's reason, and on to the next;
* 401: the session is refreshed and the same action sent again; when the refresh is
  refused the loop stops (``on_expired``) and the queue waits for the next sign-in.

GPS fixes wait in their own table and leave in batches once actions are all answered
(:class:`~driver_app.logic.gps_pacing.BatchPolicy`). The clock, the pause and the jitter are
injected, so all of this runs in tests at full speed against a fake server.
"""

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

import httpx

from app_kit.clock import utc_now
from app_kit.errors import describe_error
from app_kit.observable import Observable
from app_kit.session import SESSION_EXPIRED
from driver_app.logic.actions import Action, Files
from driver_app.logic.gps_pacing import BatchPolicy
from driver_app.logic.sync_policy import (
    Backoff,
    Verdict,
    already_done,
    refusal_message,
    verdict,
)
from driver_app.services.outbox import ItemState, Outbox, QueuedAction
from driver_app.services.sender import Sender
from shared.api_client import ApiError, AuthError
from shared.schemas.locations import FixIn

# Our own generator: the module-wide one is shared with everything else in the
# process (Hypothesis checks that nobody draws from it while it generates data).
_JITTER = random.Random()

log = logging.getLogger(__name__)


class Step(StrEnum):
    SENT = "sent"  # something was answered (done, conflict or failed): go on
    BLOCKED = "blocked"  # the head of the queue could not be sent: pause, then again
    IDLE = "idle"  # nothing to send now
    STOPPED = "stopped"  # the session is over


class SyncLoop(Observable):
    """Owns the sending of one driver's queue. For the UI: ``pending`` (actions not yet
    answered), ``pending_fixes``, ``problems`` (conflicts and failures, oldest first, each
    with its ``message``), ``online`` (None until the first try), ``last_sync_at``,
    ``retry_at`` (when the next try comes, during a pause) and ``last_error``."""

    def __init__(
        self,
        outbox: Outbox,
        sender: Sender,
        *,
        on_expired: Callable[[], None] = lambda: None,
        on_settled: Callable[[QueuedAction], Awaitable[None]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        now: Callable[[], datetime] = utc_now,
        jitter: Callable[[], float] = _JITTER.random,
        backoff: Backoff | None = None,
        batch: BatchPolicy | None = None,
    ) -> None:
        super().__init__()
        self._outbox = outbox
        self._sender = sender
        self._on_expired = on_expired
        self._on_settled = on_settled
        self._sleep = sleep
        self._now = now
        self._jitter = jitter
        self.backoff = backoff or Backoff()
        self.batch = batch or BatchPolicy()
        self._task: asyncio.Task[None] | None = None
        self._work = asyncio.Event()  # something new to send
        self._nudge = asyncio.Event()  # try now, even during a pause
        self._flush = False  # send every queued fix now (the shift ended)
        self._oldest_fix_at: datetime | None = None  # queued_at of the oldest fix waiting
        self.failures = 0  # failed tries in a row
        self._just_refreshed = False  # a 401 right after a refresh ends the session
        self.loaded = False  # the counts below are read from the queue (once it started)
        self.pending = 0
        self.pending_fixes = 0
        self.problems: list[QueuedAction] = []
        self.online: bool | None = None
        self.last_sync_at: datetime | None = None
        self.retry_at: datetime | None = None
        self.last_error: str | None = None

    # --- what the views and the GPS call ------------------------------------------------
    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def conflicts(self) -> list[QueuedAction]:
        return [p for p in self.problems if p.state is ItemState.CONFLICT]

    async def submit(
        self, action: Action, files: Files | None = None, *, order_ref: str | None = None
    ) -> str:
        """Queue ``action`` (stored before anything is sent); its client id."""
        client_id = await self._outbox.enqueue(action, files, order_ref=order_ref)
        self._work.set()
        await self._refresh_view()
        return client_id

    async def add_fix(self, fix: FixIn) -> None:
        await self.add_fixes([fix])

    async def add_fixes(self, fixes: Sequence[FixIn]) -> None:
        """Queue GPS fixes (in the order they were recorded)."""
        if not fixes:
            return
        await self._outbox.add_fixes(fixes)
        first = self.pending_fixes == 0
        await self._count_fixes()  # the loop may have sent some meanwhile
        self.notify()
        if first or self.pending_fixes >= self.batch.max_size:
            self._work.set()  # a batch became due, or its deadline starts now

    def flush_fixes(self) -> None:
        """Send every queued fix as soon as the network allows (the shift ended)."""
        self._flush = True
        self._work.set()

    def retry_now(self) -> None:
        """Cut a pause short (the network is back: the live socket reconnected, say)."""
        self._nudge.set()

    async def dismiss(self, client_id: str) -> None:
        """The driver has read about this conflict or failure."""
        await self._outbox.dismiss(client_id)
        await self._refresh_view()

    # --- running --------------------------------------------------------------------
    def start(self) -> None:
        """Start sending (after signing in); nothing when it already runs."""
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="driver-sync")

    def stop(self) -> None:
        """Stop sending (signing out, the app closing). What is queued stays queued; an
        action cut off mid-send goes again, with the same client id, at the next start."""
        if self._task is not None:
            self._task.cancel()
        self._task = None

    async def aclose(self) -> None:
        """:meth:`stop`, and wait until the loop has let go of the queue."""
        task = self._task
        self.stop()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def pending_actions(self) -> list[QueuedAction]:
        """The actions not yet answered, in the order they will go."""
        return await self._outbox.actions(ItemState.PENDING, ItemState.SENDING)

    async def _run(self) -> None:
        try:
            await self._loop()
        except Exception as exc:  # the queue's file failed: say so rather than die quietly
            log.exception("the offline queue stopped")
            self.last_error = f"Sending stopped: {exc}"
            self.notify()

    async def _loop(self) -> None:
        await self._outbox.recover()
        await self._refresh_view()
        while True:
            step = await self.step()
            if step is Step.STOPPED:
                return
            if step is Step.BLOCKED:
                self.failures += 1
                delay_s = self.backoff.delay_s(self.failures, self._jitter())
                self.retry_at = self._now() + timedelta(seconds=delay_s)
                self.notify()
                await self._pause(delay_s, self._nudge)
                self.retry_at = None
            elif step is Step.IDLE:
                await self._pause(self._fixes_due_in_s(), self._work, self._nudge)

    async def _pause(self, seconds: float | None, *wakers: asyncio.Event) -> None:
        """Wait ``seconds`` (None: for ever) or until one of ``wakers`` is set."""
        waits: list[asyncio.Future[object]] = [asyncio.ensure_future(w.wait()) for w in wakers]
        if seconds is not None:
            waits.append(asyncio.ensure_future(self._sleep(seconds)))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        self._nudge.clear()

    def _fixes_due_in_s(self) -> float | None:
        if self._flush and self.pending_fixes:
            return 0.0
        age_s = (self._now() - self._oldest_fix_at).total_seconds() if self._oldest_fix_at else 0.0
        return self.batch.wait_s(self.pending_fixes, age_s)

    async def step(self) -> Step:
        """Send what is due now: the oldest unanswered action, else a batch of fixes."""
        self._work.clear()
        item = await self._outbox.next_action()
        if item is not None:
            return await self._send_action(item)
        if self._fixes_due_in_s() == 0.0:
            return await self._send_fixes()
        if self._flush and not self.pending_fixes:
            self._flush = False
        return Step.IDLE

    async def _send_action(self, item: QueuedAction) -> Step:
        await self._outbox.mark_sending(item.client_id)
        files = await self._outbox.files_of(item.client_id)
        try:
            result = await self._sender.send(item, files)
        except Exception as exc:
            return await self._action_refused(item, exc)
        await self._outbox.mark_done(item.client_id, result)
        await self._answered(item.client_id)
        return Step.SENT

    async def _action_refused(self, item: QueuedAction, exc: Exception) -> Step:
        if already_done(item.action, exc):
            await self._outbox.mark_done(item.client_id, {"already": True})
            await self._answered(item.client_id)
            return Step.SENT
        match verdict(exc):
            case Verdict.RETRY:
                await self._outbox.mark_pending(item.client_id)
                return self._unreachable(exc)
            case Verdict.REFRESH:
                await self._outbox.mark_pending(item.client_id)
                return await self._refreshed()
            case Verdict.CONFLICT | Verdict.FAILED as refusal:
                await self._refuse(item, exc, refusal)
                await self._answered(item.client_id)
                return Step.SENT

    async def _refuse(self, item: QueuedAction, exc: Exception, refusal: Verdict) -> None:
        if isinstance(exc, ApiError):
            message = refusal_message(item.action, item.order_ref, exc)
            code = exc.code
        else:  # an answer we could not read: nothing the driver could do about it either
            log.exception("queued %s %s could not be sent", item.action.kind, item.client_id)
            code, message = "unreadable", f"Could not be sent: {exc}"
        state = ItemState.CONFLICT if refusal is Verdict.CONFLICT else ItemState.FAILED
        await self._outbox.mark_refused(item.client_id, state, code=code, message=message)

    async def _send_fixes(self) -> Step:
        queued = await self._outbox.oldest_fixes(self.batch.max_size)
        if not queued:
            await self._count_fixes()
            return Step.IDLE
        try:
            answer = await self._sender.send_fixes([q.fix for q in queued])
        except Exception as exc:
            match verdict(exc):
                case Verdict.RETRY:
                    return self._unreachable(exc)
                case Verdict.REFRESH:
                    return await self._refreshed()
                case _:  # refused whole: sending it again would not help
                    log.warning("dropping %d queued fixes the server refused: %s", len(queued), exc)
        else:
            if answer.rejected:
                log.info("server rejected %d of %d fixes", len(answer.rejected), len(queued))
        await self._outbox.drop_fixes(queued[-1].seq)
        await self._count_fixes()
        self._reached()
        self.notify()
        return Step.SENT

    async def _refreshed(self) -> Step:
        """401: a new access token and the same send again, unless the session is over."""
        if self._just_refreshed:  # refused again with a fresh token: not a token problem
            self._just_refreshed = False
            return self._expired()
        try:
            await self._sender.refresh()
        except AuthError:
            return self._expired()
        except (ApiError, httpx.TransportError) as exc:
            return self._unreachable(exc)
        self._just_refreshed = True
        return Step.SENT

    def _expired(self) -> Step:
        self.online, self.last_error = True, SESSION_EXPIRED
        self.notify()
        self._on_expired()
        return Step.STOPPED

    def _unreachable(self, exc: Exception) -> Step:
        self.online = not isinstance(exc, httpx.TransportError)
        self.last_error = describe_error(exc, self._sender.base_url)
        self.notify()
        return Step.BLOCKED

    def _reached(self) -> None:
        self.failures, self._just_refreshed = 0, False
        self.online, self.last_error, self.last_sync_at = True, None, self._now()

    async def _answered(self, client_id: str) -> None:
        self._reached()
        await self._refresh_view()
        if self._on_settled is not None:
            settled = await self._outbox.get(client_id)
            if settled is not None:
                try:
                    await self._on_settled(settled)
                except Exception:  # the callback reports its own failures; keep sending
                    log.exception("on_settled failed for %s", client_id)

    async def _count_fixes(self) -> None:
        self.pending_fixes, self._oldest_fix_at = await self._outbox.fix_backlog()

    async def _refresh_view(self) -> None:
        counts = await self._outbox.counts()
        if counts.conflicts + counts.failed or self.problems:
            self.problems = await self._outbox.actions(ItemState.CONFLICT, ItemState.FAILED)
        self.pending = counts.pending
        await self._count_fixes()
        self.loaded = True
        self.notify()
