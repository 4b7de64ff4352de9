"""The webhook worker on a real (SQLite) outbox and a real HTTP receiver: signed POSTs,
retries with backoff, the 24 h window, the URL guard at send time. The clock is injected:
nothing sleeps through a backoff."""

import itertools
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.db import create_engine, session_scope
from backend.migrate import upgrade
from backend.models import Organization, WebhookDelivery, WebhookEndpoint
from backend.outbox.claims import retry_delay_s
from backend.webhooks.outbox import enqueue
from backend.webhooks.worker import WebhookWorker, next_attempt_at
from shared.enums import WebhookEventType
from tests.backend.webhooks.receiver import Receiver, run_receiver

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
SECRET = "whsec_test"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'webhooks.db'}")
    await upgrade(engine)
    async with session_scope(engine) as session:
        session.add(Organization(slug="o", name="O"))
    yield engine
    await engine.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with run_receiver() as found:
        found.secret = SECRET
        yield found


async def endpoint(engine: AsyncEngine, url: str, *types: WebhookEventType) -> int:
    async with session_scope(engine) as session:
        row = WebhookEndpoint(org_id=1, url=url, event_types=list(types), secret=SECRET)
        session.add(row)
        await session.flush()
        assert row.id is not None
        return row.id


async def queue(
    engine: AsyncEngine, kind: WebhookEventType = WebhookEventType.ORDER_CREATED
) -> None:
    async with session_scope(engine) as session:
        await enqueue(session, 1, kind, {"order_id": 7}, at=T0)


async def deliveries(engine: AsyncEngine) -> list[WebhookDelivery]:
    async with session_scope(engine) as session:
        return list((await session.exec(select(WebhookDelivery).order_by("id"))).all())


def worker(engine: AsyncEngine, clock: Clock, *, allow_private: bool = True) -> WebhookWorker:
    return WebhookWorker(
        engine,
        allow_private=allow_private,
        retry_base_s=30,
        timeout_s=5,
        now=clock,
        jitter=lambda: 0.0,
    )


def test_backoff_doubles_from_30_s_with_jitter_and_ends_at_the_window() -> None:
    assert [retry_delay_s(n, 30) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay_s(20, 30) == 3600
    assert retry_delay_s(1, 30, jitter=1.0) == pytest.approx(36)
    assert retry_delay_s(1, 30, jitter=-1.0) == pytest.approx(24)
    end = T0 + timedelta(hours=24)
    assert next_attempt_at(T0, 1, end, 30, 0.0) == T0 + timedelta(seconds=30)
    assert next_attempt_at(end - timedelta(seconds=10), 9, end, 30, 0.0) == end  # last try
    assert next_attempt_at(end, 10, end, 30, 0.0) is None


async def test_only_subscribed_enabled_endpoints_get_a_delivery(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    await endpoint(engine, receiver.url, WebhookEventType.ORDER_CREATED)
    await endpoint(engine, receiver.url, WebhookEventType.ORDER_DELIVERED)
    async with session_scope(engine) as session:
        off = WebhookEndpoint(
            org_id=1, url=receiver.url, event_types=["order.created"], secret=SECRET, enabled=False
        )
        session.add(off)
    await queue(engine)
    [row] = await deliveries(engine)
    assert (row.endpoint_id, row.event_type, row.give_up_at) == (
        1,
        "order.created",
        T0 + timedelta(hours=24),
    )


async def test_a_500_is_retried_after_the_backoff_and_every_attempt_is_kept(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    clock = Clock()
    receiver.now = lambda: clock.now.timestamp()
    receiver.statuses = [500]
    await endpoint(engine, receiver.url, WebhookEventType.ORDER_CREATED)
    await queue(engine)
    w = worker(engine, clock)
    try:
        assert await w.run_once() == 1
        [row] = await deliveries(engine)
        assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 500)
        assert row.next_attempt_at == T0 + timedelta(seconds=30)
        clock.now = T0 + timedelta(seconds=29)
        assert await w.run_once() == 0  # not due yet
        clock.now = T0 + timedelta(seconds=30)
        assert await w.run_once() == 1
        [row] = await deliveries(engine)
        assert (row.status, row.attempts, row.delivered_at) == ("delivered", 2, clock.now)
        assert [(a["attempt"], a["status_code"]) for a in row.history] == [(1, 500), (2, 200)]
        assert row.history[0]["error"].startswith("HTTP 500")
        assert await w.run_once() == 0  # delivered rows are never sent again
    finally:
        await w.close()
    assert [r.signature_error for r in receiver.received] == [None, None]
    first, second = receiver.received
    assert first.delivery_id == second.delivery_id == row.id  # the receiver's dedupe key
    assert first.body == second.body == row.payload
    assert first.body["type"] == "order.created"
    assert first.body["data"] == {"order_id": 7}


async def test_a_receiver_failing_for_24_hours_ends_failed(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    clock = Clock()
    receiver.now = lambda: clock.now.timestamp()
    receiver.statuses = [503] * 100
    await endpoint(engine, receiver.url, WebhookEventType.ORDER_CREATED)
    await queue(engine)
    w = worker(engine, clock)
    try:
        while True:
            [row] = await deliveries(engine)
            if row.status != "pending":
                break
            clock.now = max(clock.now, row.next_attempt_at)
            assert await w.run_once() == 1
    finally:
        await w.close()
    end = T0 + timedelta(hours=24)
    assert row.status == "failed"
    assert row.delivered_at is None
    times = [datetime.fromisoformat(a["at"]) for a in row.history]
    gaps = [round((b - a).total_seconds()) for a, b in itertools.pairwise(times)]
    # 30 s doubling up to the hour, then hourly, and one last try at the end of the window.
    assert gaps[:8] == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert times[-1] == end
    assert row.attempts == len(times) == len(receiver.received)
    assert all(a["status_code"] == 503 for a in row.history)


async def test_a_private_address_is_refused_at_send_time_without_the_setting(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    await endpoint(engine, receiver.url, WebhookEventType.ORDER_CREATED)  # as if DNS changed
    await queue(engine)
    clock = Clock()
    w = worker(engine, clock, allow_private=False)
    try:
        assert await w.run_once() == 1
    finally:
        await w.close()
    [row] = await deliveries(engine)
    assert row.status == "pending"
    assert row.last_status_code is None
    assert row.last_error is not None
    assert "loopback" in row.last_error
    assert receiver.received == []  # nothing left the server


async def test_a_timeout_is_an_attempt_that_failed(engine: AsyncEngine) -> None:
    import socket

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        await endpoint(engine, url, WebhookEventType.ORDER_CREATED)
        await queue(engine)
        w = WebhookWorker(engine, allow_private=True, timeout_s=0.3, now=Clock())
        try:
            assert await w.run_once() == 1
        finally:
            await w.close()
    [row] = await deliveries(engine)
    assert (row.status, row.last_error) == ("pending", "no answer within 0.3 s")


async def test_a_disabled_endpoint_fails_its_pending_deliveries(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    endpoint_id = await endpoint(engine, receiver.url, WebhookEventType.ORDER_CREATED)
    await queue(engine)
    async with session_scope(engine) as session:
        row = await session.get(WebhookEndpoint, endpoint_id)
        assert row is not None
        row.enabled = False
    w = worker(engine, Clock())
    try:
        assert await w.run_once() == 1
    finally:
        await w.close()
    [delivery] = await deliveries(engine)
    assert (delivery.status, delivery.last_error) == ("failed", "the endpoint is disabled")
    assert receiver.received == []


async def test_a_crashed_worker_claim_lapses_and_another_sends_the_row(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    from backend.outbox.claims import claim_due
    from shared.enums import WebhookDeliveryStatus

    clock = Clock()
    receiver.now = lambda: clock.now.timestamp()
    await endpoint(engine, receiver.url, WebhookEventType.ORDER_CREATED)
    await queue(engine)
    lease = timedelta(seconds=120)
    claimed = await claim_due(engine, WebhookDelivery, WebhookDeliveryStatus.PENDING, T0, lease, 10)
    assert len(claimed) == 1  # ...and the worker that claimed it dies here
    w = worker(engine, clock)
    try:
        assert await w.run_once() == 0  # held by the dead worker's claim
        clock.now = T0 + lease + timedelta(seconds=1)
        assert await w.run_once() == 1
    finally:
        await w.close()
    [row] = await deliveries(engine)
    assert (row.status, row.attempts) == ("delivered", 2)
