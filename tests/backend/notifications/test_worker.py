"""The notification worker on a real (SQLite) outbox: retries, give-up, claims, leases.

The senders here are recording doubles: the channel is the boundary (an SMS provider);
what is under test is what the worker does with their answers."""

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.db import create_engine, session_scope
from backend.migrate import upgrade
from backend.models import Notification, Organization
from backend.notifications.senders import Outgoing, PermanentSendError, TemporarySendError
from backend.notifications.worker import NotificationWorker, retry_delay_s
from shared.enums import NotificationChannel

SMS = NotificationChannel.SMS
T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Recorder:
    """Answers with the scripted errors (one per call, then success) and keeps what went."""

    def __init__(self, *errors: Exception, delay_s: float = 0.0) -> None:
        self.errors = list(errors)
        self.sent: list[Outgoing] = []
        self.delay_s = delay_s

    async def send(self, message: Outgoing) -> None:
        await asyncio.sleep(self.delay_s)
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(message)

    async def aclose(self) -> None:
        return None


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}")
    await upgrade(engine)
    async with session_scope(engine) as session:
        session.add(Organization(slug="o", name="O"))
    yield engine
    await engine.dispose()


async def queue(engine: AsyncEngine, count: int = 1) -> list[int]:
    async with session_scope(engine) as session:
        rows = [
            Notification(
                org_id=1,
                channel=SMS,
                recipient=f"+377 600 {n:03d}",
                template="t",
                language="en",
                body=f"message {n}",
                dedupe_key=f"test:{n}",
                next_attempt_at=T0,
            )
            for n in range(count)
        ]
        session.add_all(rows)
        await session.flush()
        return [r.id for r in rows if r.id is not None]


async def rows(engine: AsyncEngine) -> list[Notification]:
    async with session_scope(engine) as session:
        return list((await session.exec(select(Notification).order_by("id"))).all())


def worker(engine: AsyncEngine, sender: Recorder, clock: Clock, **kw: float) -> NotificationWorker:
    return NotificationWorker(
        engine,
        {SMS: sender},
        retry_base_s=30,
        max_attempts=3,
        now=clock,
        **kw,  # type: ignore[arg-type]
    )


def test_retries_back_off_by_doubling_up_to_an_hour() -> None:
    assert [retry_delay_s(n, 30) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay_s(20, 30) == 3600


async def test_a_temporary_failure_is_retried_after_the_backoff_and_sent_once(
    engine: AsyncEngine,
) -> None:
    clock, sender = Clock(), Recorder(TemporarySendError("gateway answered 503"))
    w = worker(engine, sender, clock)
    await queue(engine)
    assert await w.run_once() == 1
    [row] = await rows(engine)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "gateway answered 503")
    assert row.next_attempt_at == T0 + timedelta(seconds=30)
    clock.now = T0 + timedelta(seconds=29)
    assert await w.run_once() == 0  # not due yet
    clock.now = T0 + timedelta(seconds=30)
    assert await w.run_once() == 1
    [row] = await rows(engine)
    assert (row.status, row.attempts, row.last_error, row.sent_at) == ("sent", 2, None, clock.now)
    assert [m.body for m in sender.sent] == ["message 0"]
    assert await w.run_once() == 0  # sent rows are never sent again


async def test_a_permanent_refusal_ends_the_row_at_once(engine: AsyncEngine) -> None:
    sender = Recorder(PermanentSendError("gateway answered 400: not a mobile number"))
    await queue(engine)
    assert await worker(engine, sender, Clock()).run_once() == 1
    [row] = await rows(engine)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "gateway answered 400: not a mobile number"


async def test_after_the_last_attempt_the_row_is_given_up(engine: AsyncEngine) -> None:
    clock = Clock()
    sender = Recorder(*(TemporarySendError(f"down {n}") for n in range(5)))
    w = worker(engine, sender, clock)
    await queue(engine)
    for _ in range(5):
        await w.run_once()
        clock.now += timedelta(hours=2)
    [row] = await rows(engine)
    assert (row.status, row.attempts, row.last_error) == ("failed", 3, "down 2")
    assert sender.sent == []


async def test_a_sender_bug_counts_as_a_failed_attempt_not_a_dead_worker(
    engine: AsyncEngine,
) -> None:
    w = worker(engine, Recorder(RuntimeError("boom")), Clock())
    await queue(engine)
    assert await w.run_once() == 1
    [row] = await rows(engine)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "boom" in (row.last_error or "")


async def test_two_workers_never_send_the_same_row(engine: AsyncEngine) -> None:
    await queue(engine, 60)
    clock = Clock()
    senders = [Recorder(delay_s=0.001), Recorder(delay_s=0.001), Recorder(delay_s=0.001)]
    workers = [worker(engine, s, clock, batch=7) for s in senders]
    for turn in itertools.count():
        # All three race for the same due rows each round; who starts first changes, so a
        # box where the first to start always wins still shows the rows shared out.
        first = turn % len(workers)
        handled = await asyncio.gather(
            *(w.run_once() for w in [*workers[first:], *workers[:first]])
        )
        if not any(handled):
            break
    bodies = [m.body for s in senders for m in s.sent]
    assert sorted(bodies) == sorted(f"message {n}" for n in range(60))
    assert sum(1 for s in senders if s.sent) >= 2  # the work was really shared
    assert {(r.status, r.attempts) for r in await rows(engine)} == {("sent", 1)}


async def test_a_row_claimed_by_a_worker_that_died_is_sent_after_its_lease(
    engine: AsyncEngine,
) -> None:
    clock = Clock()
    await queue(engine)
    dead = worker(engine, Recorder(), clock, lease_s=120)
    assert len(await dead._claim()) == 1  # claimed, then the process died before sending
    survivor_sender = Recorder()
    survivor = worker(engine, survivor_sender, clock, lease_s=120)
    assert await survivor.run_once() == 0  # still held by the dead worker's claim
    clock.now = T0 + timedelta(seconds=121)
    assert await survivor.run_once() == 1
    assert [m.body for m in survivor_sender.sent] == ["message 0"]
    [row] = await rows(engine)
    assert (row.status, row.attempts) == ("sent", 2)


async def test_a_late_answer_from_a_lapsed_claim_does_not_overwrite_the_new_one(
    engine: AsyncEngine,
) -> None:
    clock = Clock()
    await queue(engine)
    slow = worker(engine, Recorder(TemporarySendError("timeout")), clock, lease_s=10)
    [claimed] = await slow._claim()
    clock.now = T0 + timedelta(seconds=11)
    fast_sender = Recorder()
    assert await worker(engine, fast_sender, clock, lease_s=10).run_once() == 1
    await slow._deliver(claimed)  # its failure comes in after the row was sent
    [row] = await rows(engine)
    assert row.status == "sent"
    assert len(fast_sender.sent) == 1


async def test_the_worker_wakes_on_commit_instead_of_waiting_for_the_poll(
    engine: AsyncEngine,
) -> None:
    sender = Recorder()
    w = NotificationWorker(engine, {SMS: sender}, poll_s=60)
    w.start()
    try:
        await asyncio.sleep(0.1)  # the first pass found nothing; next poll in a minute
        await queue(engine)
        await w.wake()
        for _ in range(100):
            if sender.sent:
                break
            await asyncio.sleep(0.02)
        assert len(sender.sent) == 1
    finally:
        await w.close()
