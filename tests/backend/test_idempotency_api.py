"""``Idempotency-Key`` on order creation over real HTTP: a retried request gets the first
answer and creates nothing more; the key reused for another body is refused; twins racing
each other create one order."""

import asyncio
import uuid

from tests.factories import Org, order_payload


async def count(org: Org) -> int:
    total: int = (await org.dispatcher.get("/api/v1/orders", params={"limit": 1})).json()["total"]
    return total


async def test_a_retried_creation_answers_the_same_and_creates_one_order(org: Org) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = order_payload()
    first = await org.dispatcher.post("/api/v1/orders", json=body, headers=key)
    assert first.status_code == 201, first.text
    again = await org.dispatcher.post("/api/v1/orders", json=body, headers=key)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert await count(org) == 1

    reused = await org.dispatcher.post("/api/v1/orders", json=order_payload(), headers=key)
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    bad = await org.dispatcher.post(
        "/api/v1/orders", json=order_payload(), headers={"Idempotency-Key": "has spaces"}
    )
    assert bad.status_code == 422
    assert "printable ASCII" in bad.json()["error"]["message"]
    assert await count(org) == 1


async def test_a_key_belongs_to_its_organisation_and_batches_replay_too(
    org: Org, stranger: Org
) -> None:
    key = {"Idempotency-Key": f"batch-{uuid.uuid4()}"}
    body = {"orders": [order_payload(), order_payload()]}
    first = await org.dispatcher.post("/api/v1/orders/batch", json=body, headers=key)
    assert first.status_code == 201, first.text
    again = await org.dispatcher.post("/api/v1/orders/batch", json=body, headers=key)
    assert [o["id"] for o in again.json()] == [o["id"] for o in first.json()]
    assert await count(org) == 2
    # the same key in another organisation is another request
    theirs = await stranger.dispatcher.post("/api/v1/orders/batch", json=body, headers=key)
    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers


async def test_twin_requests_racing_create_one_order(org: Org) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = order_payload()
    answers = await asyncio.gather(
        *(org.dispatcher.post("/api/v1/orders", json=body, headers=key) for _ in range(4))
    )
    codes = sorted(a.status_code for a in answers)
    assert set(codes) <= {201, 409}
    assert 201 in codes
    assert await count(org) == 1
    created = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(created) == 1
