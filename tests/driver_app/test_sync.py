"""The offline queue and its sending loop against a fake server: exactly once, in order,
over a link that loses requests and answers, delivers some twice and some late; restarts;
pauses; conflicts, refusals and expired sessions."""

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from driver_app.logic.actions import (
    FailureAction,
    Files,
    InvalidActionError,
    ProofAction,
    ScanAction,
    TransitionAction,
)
from driver_app.logic.gps_pacing import BatchPolicy
from driver_app.logic.sync_policy import Backoff
from driver_app.services.outbox import ItemState, Outbox, QueuedAction
from driver_app.state.sync import Step, SyncLoop
from shared.api_client import ApiError, AuthError
from shared.enums import OrderStatus
from shared.schemas.locations import FixIn
from tests.driver_app.fakes import START, FakeClock, FakeServer, FlakyLink, Link
from tests.driver_app.fakes import Link as PerfectLink

_SECOND = timedelta(seconds=1)
ARRIVING = TransitionAction(order_id=7, to=OrderStatus.ARRIVING)


async def until(condition: Callable[[], bool], within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {within_s} s: {what}"
        await asyncio.sleep(0.005)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def outbox(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Outbox]:
    async with await Outbox.open(tmp_path / "queue.sqlite", now=clock.now) as box:
        yield box


def sync_loop(outbox: Outbox, link: Link, clock: FakeClock, **kwargs: object) -> SyncLoop:
    return SyncLoop(
        outbox,
        link,
        sleep=clock.sleep,
        now=clock.now,
        jitter=lambda: 1.0,
        **kwargs,  # type: ignore[arg-type]
    )


def action(n: int) -> TransitionAction:
    return TransitionAction(order_id=n + 1, to=OrderStatus.EN_ROUTE)


async def test_a_thousand_actions_over_a_link_failing_30_percent_arrive_once_in_order(
    tmp_path: Path,
) -> None:
    clock, server = FakeClock(), FakeServer()
    link = FlakyLink(server, random.Random(20310314), fail_rate=0.3, latency=clock.sleep)
    async with await Outbox.open(tmp_path / "queue.sqlite", now=clock.now) as outbox:
        sync = sync_loop(outbox, link, clock)
        sync.start()
        queued = []
        for n in range(1000):  # the driver goes on working while the loop sends
            queued.append(await sync.submit(action(n), order_ref=f"REF-{n}"))
            if n % 7 == 0:
                await asyncio.sleep(0)
        await until(lambda: server.done == queued and sync.pending == 0, 120, "all sent")
        await sync.aclose()
        finished = await outbox.actions()

    assert server.done == queued  # each once, in the order queued
    assert [a.client_id for a in finished] == queued
    assert {a.state for a in finished} == {ItemState.DONE}
    # Each kept answer is the server's first one (replays are answered the same).
    assert [a.result and a.result["n"] for a in finished] == list(range(1, 1001))
    mishaps = link.mishaps
    assert mishaps.lost_requests > 100, mishaps
    assert mishaps.lost_answers > 100, mishaps
    assert mishaps.duplicated > 10, mishaps
    assert mishaps.late > 10, mishaps
    replays = sum(server.requests.values()) - len(queued)
    assert replays >= mishaps.lost_answers + mishaps.duplicated
    assert max(clock.sleeps) <= 60.0  # the pause is capped


async def test_nothing_is_lost_or_doubled_when_the_app_dies_mid_send(tmp_path: Path) -> None:
    """The app is stopped while an action is on its way and its answer never came back;
    started again on the same file, it sends that action again with the same client id."""
    clock, server = FakeClock(), FakeServer()
    path = tmp_path / "queue.sqlite"
    answer_never_comes = asyncio.Event()

    class DyingLink(Link):
        async def send(self, item: QueuedAction, files: Files) -> dict[str, Any]:
            answer = self.server.handle(item, files)
            if len(self.server.done) == 5:
                await answer_never_comes.wait()  # the app is killed here
            return answer

    outbox = await Outbox.open(path, now=clock.now)
    sync = sync_loop(outbox, DyingLink(server), clock)
    queued = [await sync.submit(action(n), files=None) for n in range(10)]
    sync.start()
    await until(lambda: len(server.done) == 5, 10, "the fifth action reached the server")
    fifth = await outbox.get(queued[4])
    assert fifth is not None
    assert fifth.state is ItemState.SENDING
    await sync.aclose()
    await outbox.close()

    async with await Outbox.open(path, now=clock.now) as reopened:
        fifth = await reopened.get(queued[4])
        assert fifth is not None
        assert fifth.state is ItemState.PENDING
        assert [a.client_id for a in await reopened.actions(ItemState.DONE)] == queued[:4]
        again = sync_loop(reopened, PerfectLink(server), clock)
        again.start()
        await until(
            lambda: again.loaded and again.pending == 0 and len(server.done) == 10, 10, "all sent"
        )
        await again.aclose()
        assert {a.state for a in await reopened.actions()} == {ItemState.DONE}

    assert server.done == queued  # nothing doubled, nothing out of order
    assert server.requests[queued[4]] == 2  # the replay of the cut-off send
    assert all(server.requests[c] == 1 for c in queued if c != queued[4])


async def test_pictures_are_stored_with_the_action_and_sent_with_it(
    outbox: Outbox, clock: FakeClock, tmp_path: Path
) -> None:
    server = FakeServer()
    proof = ProofAction(order_id=3, recipient_name="Rita", lat=43.74, lng=7.42)
    photos = [b"\xff\xd8\xff photo one", b"\xff\xd8\xff photo two"]
    client_id = await outbox.enqueue(
        proof, {"photos": photos, "signature_png": [b"\x89PNG sig"]}, order_ref="REF-3"
    )
    assert await outbox.files_of(client_id) == {
        "photos": photos,
        "signature_png": [b"\x89PNG sig"],
    }
    sync = sync_loop(outbox, PerfectLink(server), clock)
    assert await sync.step() is Step.SENT
    assert server.files[client_id] == {"photos": photos, "signature_png": [b"\x89PNG sig"]}
    assert await outbox.files_of(client_id) == {}  # sent: the pictures are not kept
    done = await outbox.get(client_id)
    assert done is not None
    assert done.action == proof
    assert done.order_ref == "REF-3"


async def test_hopeless_actions_are_refused_before_they_are_queued(outbox: Outbox) -> None:
    with pytest.raises(InvalidActionError, match="carries no 'photos'"):
        await outbox.enqueue(ARRIVING, {"photos": [b"x"]})
    with pytest.raises(InvalidActionError, match="at most 5"):
        await outbox.enqueue(FailureAction(order_id=1, reason="not_home"), {"photos": [b"x"] * 6})
    with pytest.raises(InvalidActionError, match="drivers cannot"):
        await outbox.enqueue(TransitionAction(order_id=1, to=OrderStatus.CANCELLED))
    with pytest.raises(InvalidActionError, match="codes"):
        await outbox.enqueue(ScanAction(order_id=1))
    with pytest.raises(InvalidActionError, match="both lat and lng"):
        await outbox.enqueue(ProofAction(order_id=1, lat=43.7))
    assert (await outbox.counts()).pending == 0


async def test_pauses_double_up_to_a_minute_and_start_over_after_a_success(
    outbox: Outbox,
    clock: FakeClock,
) -> None:
    server = FakeServer()
    outage = 9  # tries that find no network

    class Outage(Link):
        async def send(self, item: QueuedAction, files: Files) -> dict[str, Any]:
            nonlocal outage
            if outage > 0:
                outage -= 1
                raise httpx.ConnectError("no network")
            return await super().send(item, files)

    sync = sync_loop(outbox, Outage(server), clock)
    seen: list[tuple[bool | None, str | None]] = []
    sync.subscribe(lambda: seen.append((sync.online, sync.last_error)))
    first = await sync.submit(ARRIVING)
    sync.start()
    await until(lambda: sync.loaded and sync.pending == 0, 10, "sent once the network is back")
    assert server.done == [first]
    assert clock.sleeps == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    offline = "Cannot reach the server at http://fake.test. Check the connection and try again."
    assert (False, offline) in seen
    assert sync.online is True
    assert sync.last_error is None
    assert sync.last_sync_at == clock.now()
    assert sync.failures == 0

    outage = 1  # a new outage starts from the first pause again
    second = await sync.submit(action(2))
    await until(lambda: sync.loaded and sync.pending == 0, 10, "the second one sent")
    assert server.done == [first, second]
    assert clock.sleeps[-1] == 1
    await sync.aclose()


def test_the_pause_has_jitter_between_half_and_all_of_it_and_a_cap() -> None:
    backoff = Backoff(first_s=1, max_s=60)
    assert [backoff.delay_s(n, 1.0) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert [backoff.delay_s(n, 0.0) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay_s(10_000, 1.0) == 60  # no overflow after a long time offline
    assert backoff.delay_s(0, 1.0) == 0


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_trouble_is_retried_with_the_same_client_id(
    outbox: Outbox, clock: FakeClock, status: int
) -> None:
    server = FakeServer()
    client_id = await outbox.enqueue(ARRIVING)
    server.refuse[client_id] = ApiError(status, "busy", "try later")
    sync = sync_loop(outbox, PerfectLink(server), clock)
    assert await sync.step() is Step.BLOCKED
    assert sync.online is True
    assert sync.last_error is not None
    del server.refuse[client_id]
    assert await sync.step() is Step.SENT
    assert server.done == [client_id]
    assert server.requests[client_id] == 2


async def test_a_conflict_is_told_in_plain_words_and_the_queue_moves_on(
    outbox: Outbox, clock: FakeClock
) -> None:
    server = FakeServer()
    sync = sync_loop(outbox, PerfectLink(server), clock)
    taken = await sync.submit(ProofAction(order_id=12), order_ref="REF-12")
    cancelled = await sync.submit(ARRIVING, order_ref=None)
    after = await sync.submit(action(3))
    server.refuse[taken] = ApiError(
        409,
        "no_longer_yours",
        "order 12 is no longer yours (now assigned, with another driver); nothing was recorded",
        {"status": "assigned"},
    )
    server.refuse[cancelled] = ApiError(
        409,
        "no_longer_yours",
        "order 7 is no longer yours (now cancelled, with no driver); nothing was recorded",
        {"status": "cancelled"},
    )
    sync.start()
    await until(
        lambda: sync.loaded and sync.pending == 0 and len(sync.conflicts) == 2, 10, "all answered"
    )
    assert server.done == [after]  # the next action still went
    assert [c.message for c in sync.conflicts] == [
        "Order REF-12 was reassigned to another driver; your delivery was not recorded.",
        "Order 7 was cancelled; your change to \u201cArriving\u201d was not recorded.",
    ]
    assert sync.pending == 0
    await sync.dismiss(taken)
    assert [c.client_id for c in sync.problems] == [cancelled]
    await sync.aclose()


async def test_a_refusal_keeps_the_servers_reason_and_the_queue_moves_on(
    outbox: Outbox, clock: FakeClock
) -> None:
    server = FakeServer()
    sync = sync_loop(outbox, PerfectLink(server), clock)
    refused = await sync.submit(ProofAction(order_id=4), order_ref="REF-4")
    server.refuse[refused] = ApiError(422, "invalid_proof", "missing proof of delivery: signature")
    after = await sync.submit(action(5))
    assert await sync.step() is Step.SENT
    assert await sync.step() is Step.SENT
    assert server.done == [after]
    [problem] = sync.problems
    assert problem.state is ItemState.FAILED
    assert problem.code == "invalid_proof"
    assert problem.message == (
        "Order REF-4: your delivery was not recorded. "
        "The server said: missing proof of delivery: signature"
    )


async def test_a_401_refreshes_the_session_and_sends_the_same_again(
    outbox: Outbox, clock: FakeClock
) -> None:
    server = FakeServer()
    link = PerfectLink(server)
    client_id = await outbox.enqueue(ARRIVING)
    server.refuse[client_id] = AuthError(401, "token_expired", "the token expired")

    async def refresh() -> None:
        link.refreshes += 1
        del server.refuse[client_id]  # the new token is accepted

    link.refresh = refresh  # type: ignore[method-assign]
    sync = sync_loop(outbox, link, clock)
    sync.start()
    await until(lambda: server.done == [client_id], 10, "sent with the new token")
    assert link.refreshes == 1
    assert clock.sleeps == []
    await sync.aclose()


async def test_a_refused_refresh_ends_the_session_and_keeps_the_queue(
    outbox: Outbox, clock: FakeClock
) -> None:
    server = FakeServer()
    link = PerfectLink(server)
    client_id = await outbox.enqueue(ARRIVING)
    server.refuse[client_id] = AuthError(401, "token_expired", "the token expired")

    async def refresh() -> None:
        raise AuthError(401, "invalid_token", "the refresh token expired")

    link.refresh = refresh  # type: ignore[method-assign]
    expired: list[bool] = []
    sync = sync_loop(outbox, link, clock, on_expired=lambda: expired.append(True))
    sync.start()
    await until(lambda: not sync.running, 10, "the loop stopped")
    assert expired == [True]
    assert sync.last_error == "Your session has expired; sign in again."
    assert sync.pending == 1
    assert server.done == []


async def test_a_401_that_outlives_a_refresh_ends_the_session(
    outbox: Outbox, clock: FakeClock
) -> None:
    server = FakeServer()
    link = PerfectLink(server)
    client_id = await outbox.enqueue(ARRIVING)
    server.refuse[client_id] = AuthError(401, "not_a_driver", "no longer a driver")
    expired: list[bool] = []
    sync = sync_loop(outbox, link, clock, on_expired=lambda: expired.append(True))
    sync.start()
    await until(lambda: not sync.running, 10, "the loop stopped")
    assert link.refreshes == 1
    assert expired == [True]


async def test_fixes_leave_in_batches_in_recorded_order_after_the_actions(
    outbox: Outbox,
    clock: FakeClock,
) -> None:
    server = FakeServer()
    sync = sync_loop(
        outbox,
        FlakyLink(server, random.Random(7), fail_rate=0.3),
        clock,
        batch=BatchPolicy(max_size=40, max_age_s=15),
    )
    fixes = [
        FixIn(lat=43.73 + i * 1e-4, lng=7.42, recorded_at=START.replace(second=0) + i * _SECOND)
        for i in range(250)
    ]
    await sync.add_fixes(fixes[:100])
    first = await sync.submit(ARRIVING)
    sync.start()
    await sync.add_fixes(fixes[100:])
    await until(lambda: sync.loaded and sync.pending_fixes == 0, 10, "every fix sent")
    assert server.done == [first]
    assert server.fixes == fixes  # once each, in recorded order
    assert server.timeline[0] == first  # the action went before the fixes queued before it
    assert max(len(batch) for batch in server.timeline[1:]) <= 40
    assert sync.pending_fixes == 0
    await sync.aclose()


async def test_a_lone_fix_waits_for_its_batch_at_most_max_age(
    outbox: Outbox, clock: FakeClock
) -> None:
    server = FakeServer()
    sync = sync_loop(outbox, PerfectLink(server), clock, batch=BatchPolicy(max_age_s=15))
    sync.start()
    await sync.add_fix(FixIn(lat=43.73, lng=7.42, recorded_at=START))
    await until(lambda: server.fix_requests == 1, 5, "sent once due")
    assert clock.sleeps == [15]  # it waited for company, then went alone
    assert clock.now() == START + 15 * _SECOND
    await sync.aclose()


async def test_the_shift_end_flushes_every_fix_at_once(outbox: Outbox, clock: FakeClock) -> None:
    server = FakeServer()
    sync = sync_loop(outbox, PerfectLink(server), clock, batch=BatchPolicy(max_age_s=600))
    await sync.add_fixes(
        [FixIn(lat=43.73, lng=7.42, recorded_at=START + n * _SECOND) for n in range(3)]
    )
    assert await sync.step() is Step.IDLE  # not due yet
    sync.flush_fixes()
    assert await sync.step() is Step.SENT
    assert len(server.fixes) == 3
    assert sync.pending_fixes == 0
    assert clock.sleeps == []


async def test_unsent_fixes_survive_a_restart(tmp_path: Path) -> None:
    clock, server = FakeClock(), FakeServer()
    path = tmp_path / "queue.sqlite"
    fixes = [FixIn(lat=43.73, lng=7.42, recorded_at=START + n * _SECOND) for n in range(5)]
    async with await Outbox.open(path, now=clock.now) as outbox:
        await sync_loop(outbox, PerfectLink(server), clock).add_fixes(fixes)
    async with await Outbox.open(path, now=clock.now) as outbox:
        sync = sync_loop(outbox, PerfectLink(server), clock)
        sync.start()
        await until(lambda: len(server.fixes) == 5, 5, "sent after the restart")
        await sync.aclose()
    assert server.fixes == fixes


async def test_the_ui_sees_what_is_pending(outbox: Outbox, clock: FakeClock) -> None:
    sync = sync_loop(outbox, PerfectLink(FakeServer()), clock)
    versions: list[int] = []
    sync.subscribe(lambda: versions.append(sync.pending))
    ids = [await sync.submit(action(n)) for n in range(3)]
    assert versions == [1, 2, 3]
    assert [a.client_id for a in await sync.pending_actions()] == ids
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)  # uuid4 hex


async def test_a_full_proof_store_keeps_the_proof_queued_and_says_why(
    outbox: Outbox, clock: FakeClock
) -> None:
    server = FakeServer()
    sync = sync_loop(outbox, PerfectLink(server), clock)
    photos = {"photos": [b"\xff\xd8\xff the door"]}
    proof = await sync.submit(ProofAction(order_id=4), photos, order_ref="REF-4")
    message = "The proof-of-delivery store is out of disk space: this proof was not recorded."
    server.refuse[proof] = ApiError(507, "storage_full", message)
    assert await sync.step() is Step.BLOCKED
    assert sync.problems == []  # not a refusal: nothing for the driver to dismiss
    assert sync.pending == 1
    assert await outbox.files_of(proof) == photos  # the photo is kept for the next try
    assert sync.last_error == (
        "The server had a problem (507): The proof-of-delivery store is out of disk space: "
        "this proof was not recorded. Try again shortly."
    )

    del server.refuse[proof]  # an administrator freed space
    assert await sync.step() is Step.SENT
    assert server.done == [proof]
    assert server.files[proof] == photos
    assert sync.last_error is None
