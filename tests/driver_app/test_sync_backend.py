"""The offline queue against the real backend: a lost answer is replayed and recorded once,
an order taken away meanwhile becomes a conflict in plain words, and an app killed mid-sync
(a real process, SIGKILL) loses and doubles nothing."""

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from driver_app.logic.actions import (
    FailureAction,
    Files,
    ProofAction,
    ScanAction,
    TransitionAction,
)
from driver_app.logic.gps_pacing import BatchPolicy
from driver_app.services.outbox import ItemState, Outbox, QueuedAction
from driver_app.services.sender import ApiSender
from driver_app.state.offline import OfflineWork, queue_path
from driver_app.state.sync import SyncLoop
from shared.api_client import ApiClient
from shared.enums import OrderStatus
from shared.schemas.locations import FixIn, IngestResponse
from tests.backend.pod.test_pod_api import DROPOFF, en_route_order, jpeg, status_of
from tests.driver_app.test_sync import until
from tests.factories import PASSWORD, Org, assign, create_order

REPO = Path(__file__).resolve().parents[2]


async def no_pause(_: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture
async def driver_client(org: Org, base_url: str) -> AsyncIterator[ApiClient]:
    async with ApiClient(base_url) as client:
        await client.login(org.emails["driver"], PASSWORD)
        yield client


class LostAnswers(ApiSender):
    """The first send of each action, and of each batch of fixes, reaches the server; its
    answer never comes back."""

    def __init__(self, client: ApiClient) -> None:
        super().__init__(client)
        self.sends: dict[str, int] = {}
        self.fix_batches: list[int] = []

    async def send(self, item: QueuedAction, files: Files) -> dict[str, Any]:
        self.sends[item.client_id] = self.sends.get(item.client_id, 0) + 1
        answer = await super().send(item, files)
        if self.sends[item.client_id] == 1:
            raise httpx.ReadTimeout("the answer was lost on the way back")
        return answer

    async def send_fixes(self, fixes: list[FixIn]) -> IngestResponse:
        answer = await super().send_fixes(fixes)
        self.fix_batches.append(answer.accepted)
        if len(self.fix_batches) % 2:
            raise httpx.ReadTimeout("the answer was lost on the way back")
        return answer


async def events_of(org: Org, order_id: int) -> list[dict[str, Any]]:
    response = await org.dispatcher.get(f"/api/v1/orders/{order_id}/events")
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()
    return events


async def reference_of(org: Org, order_id: int) -> str:
    reference: str = (await org.dispatcher.get(f"/api/v1/orders/{order_id}")).json()["reference"]
    return reference


async def test_a_lost_answer_is_replayed_and_recorded_once(
    org: Org, driver_client: ApiClient, tmp_path: Path
) -> None:
    order_id = await en_route_order(org)
    reference = await reference_of(org, order_id)
    sender = LostAnswers(driver_client)
    async with await Outbox.open(tmp_path / "queue.sqlite") as outbox:
        sync = SyncLoop(outbox, sender, sleep=no_pause)
        arriving = await sync.submit(
            TransitionAction(order_id=order_id, to=OrderStatus.ARRIVING), order_ref=reference
        )
        proof = await sync.submit(
            ProofAction(order_id=order_id, lat=DROPOFF[0], lng=DROPOFF[1], notes="porch"),
            {"photos": [jpeg()]},
            order_ref=reference,
        )
        sync.start()
        await until(lambda: sync.loaded and sync.pending == 0, 30, "both answered")
        await sync.aclose()
        answered = {a.client_id: a for a in await outbox.actions()}

    assert sender.sends == {arriving: 2, proof: 2}  # each one sent again after its lost answer
    assert {a.state for a in answered.values()} == {ItemState.DONE}
    result = answered[proof].result
    assert result is not None
    assert result["replayed"] is True  # the server's first answer, again
    assert result["status"] == "delivered"
    assert result["files"] == ["photo-1-display.jpg", "photo-1.jpg"]
    assert sync.problems == []
    events = await events_of(org, order_id)
    changes = [e["to_status"] for e in events if e["kind"] == "status_changed"]
    assert changes.count("arriving") == 1
    assert changes.count("delivered") == 1
    [delivered] = [e for e in events if e["to_status"] == "delivered"]
    assert delivered["details"]["pod"]["client_id"] == proof
    assert [e["details"]["client_id"] for e in events if e["to_status"] == "arriving"] == [arriving]
    assert await status_of(org, order_id) == "delivered"


async def test_an_order_taken_away_meanwhile_becomes_a_conflict_in_plain_words(
    org: Org, driver_client: ApiClient, tmp_path: Path
) -> None:
    reassigned = await assign(
        org.dispatcher, (await create_order(org.dispatcher))["id"], org.driver_ids[0]
    )
    cancelled = await assign(
        org.dispatcher, (await create_order(org.dispatcher))["id"], org.driver_ids[0]
    )
    still_mine = await en_route_order(org)
    async with await Outbox.open(tmp_path / "queue.sqlite") as outbox:
        sync = SyncLoop(outbox, ApiSender(driver_client), sleep=no_pause)
        # Offline: the driver sets off with two orders and reaches a third.
        for order in (reassigned, cancelled):
            await sync.submit(
                TransitionAction(order_id=order["id"], to=OrderStatus.EN_ROUTE),
                order_ref=order["reference"],
            )
        last = await sync.submit(TransitionAction(order_id=still_mine, to=OrderStatus.ARRIVING))
        # Meanwhile dispatch gives one to the other driver and cancels the other.
        url = "/api/v1/orders/{}/transitions"
        for body in ({"to": "created"}, {"to": "assigned", "driver_id": org.driver_ids[1]}):
            response = await org.dispatcher.post(url.format(reassigned["id"]), json=body)
            assert response.status_code == 200, response.text
        response = await org.dispatcher.post(url.format(cancelled["id"]), json={"to": "cancelled"})
        assert response.status_code == 200, response.text

        sync.start()  # the network is back
        await until(lambda: sync.loaded and sync.pending == 0, 30, "all answered")
        await sync.aclose()
        done = await outbox.get(last)

    en_route = "\u201cEn route\u201d"
    assert [(c.code, c.message) for c in sync.conflicts] == [
        (
            "no_longer_yours",
            f"Order {reassigned['reference']} was reassigned to another driver; "
            f"your change to {en_route} was not recorded.",
        ),
        (
            "no_longer_yours",
            f"Order {cancelled['reference']} was cancelled; "
            f"your change to {en_route} was not recorded.",
        ),
    ]
    assert done is not None
    assert done.state is ItemState.DONE  # the queue moved on past the conflicts
    assert await status_of(org, still_mine) == "arriving"
    assert await status_of(org, reassigned["id"]) == "assigned"


async def test_an_app_killed_mid_sync_loses_and_doubles_nothing(
    org: Org, base_url: str, driver_client: ApiClient, tmp_path: Path
) -> None:
    """A real process sends the queue and is killed (SIGKILL) while it is at it; the app
    started again on the same file finishes the job. Every change alternates the order
    between en route and arriving, so one done twice or out of turn would be a 409."""
    order_id = await en_route_order(org)
    path = tmp_path / "queue.sqlite"
    changes = [OrderStatus.ARRIVING, OrderStatus.EN_ROUTE] * 60
    async with await Outbox.open(path) as outbox:
        queued = [
            await outbox.enqueue(TransitionAction(order_id=order_id, to=to)) for to in changes
        ]

    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.driver_app.sync_child",
        base_url,
        org.emails["driver"],
        PASSWORD,
        str(path),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), 30) == b"sending\n"
        deadline = time.monotonic() + 60
        while len(await _recorded(org, order_id)) < 20:
            assert time.monotonic() < deadline, "the child sends nothing"
            await asyncio.sleep(0.01)
    finally:
        child.send_signal(signal.SIGKILL)  # no clean-up of any kind
        await child.wait()
    recorded_when_killed = await _recorded(org, order_id)
    assert len(recorded_when_killed) < len(queued), "killed too late to prove anything"

    async with await Outbox.open(path) as outbox:
        sync = SyncLoop(outbox, ApiSender(driver_client), sleep=no_pause)
        sync.start()
        await until(lambda: sync.loaded and sync.pending == 0, 60, "the rest sent")
        await sync.aclose()
        assert {a.state for a in await outbox.actions()} == {ItemState.DONE}

    assert await _recorded(org, order_id) == queued  # each once, in the order queued
    assert await status_of(org, order_id) == "en_route"


async def _recorded(org: Org, order_id: int) -> list[str]:
    """The client ids of the driver's changes to the order, in the order recorded."""
    return [
        e["details"]["client_id"]
        for e in await events_of(org, order_id)
        if e["kind"] == "status_changed" and "client_id" in e["details"]
    ]


async def test_failures_scans_and_fixes_go_through_the_real_api_once(
    org: Org, driver_client: ApiClient, tmp_path: Path
) -> None:
    failing = await en_route_order(org)
    scanned = await assign(
        org.dispatcher, (await create_order(org.dispatcher))["id"], org.driver_ids[0]
    )
    sender = LostAnswers(driver_client)
    start = datetime.now(UTC) - timedelta(minutes=10)
    fixes = [
        FixIn(lat=43.7300 + i * 1e-4, lng=7.42, recorded_at=start + timedelta(seconds=5 * i))
        for i in range(30)
    ]
    async with await Outbox.open(tmp_path / "queue.sqlite") as outbox:
        sync = SyncLoop(outbox, sender, sleep=no_pause, batch=BatchPolicy(max_size=20))
        scan = await sync.submit(ScanAction(order_id=scanned["id"], codes=scanned["barcodes"]))
        failure = await sync.submit(
            FailureAction(order_id=failing, reason="refused", note="said no at the door"),
            {"photos": [jpeg()]},
        )
        await sync.add_fixes(fixes)
        sync.flush_fixes()
        sync.start()
        await until(
            lambda: sync.loaded and sync.pending == 0 and sync.pending_fixes == 0, 30, "all sent"
        )
        await sync.aclose()
        answers = {a.client_id: a.result for a in await outbox.actions()}

    assert sync.problems == []
    assert answers[scan] == {
        "order_id": scanned["id"],
        "decoder": "app",
        "codes": [{"text": scanned["barcodes"][0], "symbology": None}],
        "parcels_left": [],
    }
    failed = answers[failure]
    assert failed is not None
    assert failed["replayed"] is True
    assert (failed["status"], failed["follow_up"]) == ("failed", "return_to_depot")
    changes = [e["to_status"] for e in await events_of(org, failing)]
    assert changes.count("failed") == 1
    # Each batch whose answer was lost went again: the server kept every fix once.
    assert sender.fix_batches == [20, 0, 10, 0]
    history = await org.dispatcher.get(
        f"/api/v1/drivers/{org.driver_ids[0]}/locations",
        params={"from": start.isoformat(), "to": (start + timedelta(hours=1)).isoformat()},
    )
    assert history.status_code == 200, history.text
    stored = [datetime.fromisoformat(f["recorded_at"]) for f in history.json()["items"]]
    assert stored == [f.recorded_at for f in fixes]


async def test_the_offline_work_is_per_driver_and_survives_signing_out(
    org: Org, driver_client: ApiClient, tmp_path: Path
) -> None:
    order_id = await en_route_order(org)
    work = await OfflineWork.open(driver_client, tmp_path, org.driver_ids[0])
    await work.sync.aclose()  # offline: nothing leaves
    queued = await work.sync.submit(TransitionAction(order_id=order_id, to=OrderStatus.ARRIVING))
    await work.aclose()  # signed out with an action still queued
    path = queue_path(tmp_path, driver_client.base_url, org.driver_ids[0])
    assert path.exists()
    assert path != queue_path(tmp_path, driver_client.base_url, org.driver_ids[1])

    again = await OfflineWork.open(driver_client, tmp_path, org.driver_ids[0])
    try:
        await until(lambda: again.sync.loaded and again.sync.pending == 0, 30, "sent")
        assert again.gps is None  # no location source given
        again.follow_shift(None)
    finally:
        await again.aclose()
    assert await _recorded(org, order_id) == [queued]


async def test_arrived_after_the_geofence_saw_it_is_no_conflict(
    org: Org, driver_client: ApiClient, tmp_path: Path
) -> None:
    order_id = await en_route_order(org)
    async with await Outbox.open(tmp_path / "queue.sqlite") as outbox:
        sync = SyncLoop(outbox, ApiSender(driver_client), sleep=no_pause)
        arrived = await sync.submit(TransitionAction(order_id=order_id, to=OrderStatus.ARRIVING))
        # Before the tap gets through, the server moves the order there itself.
        response = await org.driver.post(
            f"/api/v1/orders/{order_id}/transitions", json={"to": "arriving"}
        )
        assert response.status_code == 200, response.text
        sync.start()
        await until(lambda: sync.loaded and sync.pending == 0, 30, "answered")
        await sync.aclose()
        item = await outbox.get(arrived)
    assert item is not None
    assert item.state is ItemState.DONE
    assert sync.problems == []  # nothing to tell the driver
    assert await status_of(org, order_id) == "arriving"
