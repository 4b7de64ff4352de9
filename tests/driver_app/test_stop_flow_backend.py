"""The flow at a stop against the real backend: what it queues goes through the real queue
and lands (delivered with a proof that verifies, failed with its follow-up, picked up), and
a label photo is read on the server, a wrong one named."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from driver_app.logic.stops import StopLine
from driver_app.services.label_reader import server_label_reader
from driver_app.services.outbox import Outbox
from driver_app.services.sender import ApiSender
from driver_app.state.stop_flow import StopFlow
from driver_app.state.sync import SyncLoop
from shared.api_client import ApiClient
from shared.enums import OrderStatus, StopKind
from shared.failures import FailureReason
from tests.backend.pod.labels import label, qr
from tests.backend.pod.test_pod_api import DROPOFF, en_route_order, jpeg, status_of
from tests.driver_app.test_sync import until
from tests.driver_app.test_sync_backend import events_of
from tests.factories import PASSWORD, Org, assign, create_order, order_payload

SIGNATURE = [(20.0, 30.0), (60.0, 70.0), (140.0, 40.0), (200.0, 90.0)]


async def no_pause(_: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture
async def driver_client(org: Org, base_url: str) -> AsyncIterator[ApiClient]:
    async with ApiClient(base_url) as client:
        await client.login(org.emails["driver"], PASSWORD)
        yield client


@pytest.fixture
async def sync(driver_client: ApiClient, tmp_path: Path) -> AsyncIterator[SyncLoop]:
    async with await Outbox.open(tmp_path / "queue.sqlite") as outbox:
        loop = SyncLoop(outbox, ApiSender(driver_client), sleep=no_pause)
        yield loop
        await loop.aclose()


async def flow_at(
    client: ApiClient, sync: SyncLoop, order_id: int, kind: StopKind = StopKind.DROPOFF
) -> tuple[StopFlow, list[tuple[int, OrderStatus]]]:
    order = await client.get_order(order_id)
    stop = next(s for s in order.stops if s.kind is kind)
    finished: list[tuple[int, OrderStatus]] = []
    flow = StopFlow(
        StopLine(stop, stop.route_id or 0, order),
        submit=sync.submit,
        scan_label=server_label_reader(client),
        position=lambda: DROPOFF,
        on_finished=lambda order_id, status: finished.append((order_id, status)),
    )
    return flow, finished


async def sent(sync: SyncLoop) -> None:
    sync.start()
    await until(lambda: sync.loaded and sync.pending == 0, 30, "the queue sent")
    assert [p.message for p in sync.problems] == []


def sign(flow: StopFlow) -> None:
    flow.start_stroke(*SIGNATURE[0])
    for x, y in SIGNATURE[1:]:
        flow.extend(x, y)


async def test_a_delivery_from_arrival_to_proof_lands_and_verifies(
    org: Org, driver_client: ApiClient, sync: SyncLoop
) -> None:
    created = await create_order(
        org.dispatcher, required_proofs=["photo", "signature", "barcode"], barcodes=["PK-A1"]
    )
    other = await create_order(org.dispatcher, barcodes=["PK-ZZ9"])
    await assign(org.dispatcher, created["id"], org.driver_ids[0])
    flow, finished = await flow_at(driver_client, sync, created["id"])

    await flow.arrive()  # assigned: en route, then arriving
    await flow.scan_photo(label(qr("PK-ZZ9")))  # someone else's parcel
    assert flow.warning is not None
    assert f"belongs to order {other['id']}" in flow.warning
    assert flow.scanned == []
    await flow.scan_photo(label(qr("PK-A1")))
    assert flow.scanned == ["PK-A1"], flow.info
    assert flow.add_photo(jpeg())
    sign(flow)
    flow.set_name("Bob Neighbour")
    assert flow.missing == []
    assert await flow.complete()
    assert finished == [(created["id"], OrderStatus.DELIVERED)]  # before anything was sent

    await sent(sync)
    assert await status_of(org, created["id"]) == "delivered"
    events = await events_of(org, created["id"])
    changes = [e["to_status"] for e in events if e["kind"] == "status_changed"]
    assert changes[-3:] == ["en_route", "arriving", "delivered"]
    [delivered] = [e for e in events if e["to_status"] == "delivered"]
    pod = delivered["details"]["pod"]
    assert pod["metadata"]["recipient_name"] == "Bob Neighbour"
    assert pod["metadata"]["barcodes"] == ["PK-A1"]
    assert pod["metadata"]["signature_points"] == len(SIGNATURE)
    assert sorted(pod["files"]) == ["photo-1-display.jpg", "photo-1.jpg", "signature.svg"]
    check = (await org.dispatcher.get(f"/api/v1/orders/{created['id']}/pod/verify")).json()
    assert check["intact"] is True


async def test_a_failed_delivery_lands_with_its_follow_up(
    org: Org, driver_client: ApiClient, sync: SyncLoop
) -> None:
    not_home = await en_route_order(org)
    other = await en_route_order(org)
    first, finished = await flow_at(driver_client, sync, not_home)
    first.start_failure()
    first.choose_reason(FailureReason.NOT_HOME)
    assert await first.fail()
    second, _ = await flow_at(driver_client, sync, other)
    assert not await second.fail(FailureReason.OTHER)  # says nothing: refused here
    assert await second.fail(FailureReason.OTHER, note="Dog in the garden, nobody answered")
    assert finished == [(not_home, OrderStatus.FAILED)]

    await sent(sync)
    # not home: back on the driver's route today; other: rescheduled for another day
    assert await status_of(org, not_home) == "assigned"
    assert await status_of(org, other) == "rescheduled"
    failed: list[dict[str, Any]] = [
        e for e in await events_of(org, other) if e["to_status"] == "failed"
    ]
    assert failed[0]["details"]["failure"]["note"] == "Dog in the garden, nobody answered"


async def test_a_pickup_confirmed_at_its_stop_lands(
    org: Org, driver_client: ApiClient, sync: SyncLoop
) -> None:
    pickup = {**order_payload()["dropoff"], "address": "1 Quai Antoine, Monaco"}
    created = await create_order(org.dispatcher, pickup=pickup)
    await assign(org.dispatcher, created["id"], org.driver_ids[0])
    flow, finished = await flow_at(driver_client, sync, created["id"], StopKind.PICKUP)
    flow.add_code(created["barcodes"][0])
    assert await flow.complete()
    assert finished == [(created["id"], OrderStatus.PICKED_UP)]
    await sent(sync)
    assert await status_of(org, created["id"]) == "picked_up"
