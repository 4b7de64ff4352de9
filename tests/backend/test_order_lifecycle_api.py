"""The state machine over real HTTP: every legal move succeeds and is on the timeline,
every illegal one is a 409 naming both states and changes nothing."""

from collections import deque
from typing import Any

import httpx
import pytest

from shared.enums import OrderStatus as S
from shared.lifecycle import all_transitions
from tests.factories import Org, order_payload

PICKUP = {"address": "Depot A, Monaco", "lat": 43.735, "lng": 7.421}


def path_to(target: S, has_pickup: bool) -> list[S]:
    """The shortest walk of legal moves from 'created' to ``target``."""
    edges = all_transitions(has_pickup=has_pickup)
    previous: dict[S, S | None] = {S.CREATED: None}
    queue = deque([S.CREATED])
    while queue:
        src = queue.popleft()
        for a, b in sorted(edges):
            if a is src and b not in previous:
                previous[b] = src
                queue.append(b)
    walk = [target]
    while (step := previous[walk[-1]]) is not None:
        walk.append(step)
    return walk[::-1][1:]


async def new_order_in(
    client: httpx.AsyncClient, state: S, has_pickup: bool, driver_id: int
) -> int:
    extra: dict[str, Any] = {"pickup": PICKUP} if has_pickup else {}
    response = await client.post("/api/v1/orders", json=order_payload(**extra))
    assert response.status_code == 201, response.text
    order_id: int = response.json()["id"]
    for step in path_to(state, has_pickup):
        await move(client, order_id, step, driver_id, expect=200)
    return order_id


async def move(
    client: httpx.AsyncClient, order_id: int, to: S, driver_id: int, *, expect: int
) -> httpx.Response:
    body: dict[str, Any] = {"to": to}
    if to is S.ASSIGNED:
        body["driver_id"] = driver_id
    response = await client.post(f"/api/v1/orders/{order_id}/transitions", json=body)
    assert response.status_code == expect, (to, response.text)
    return response


CASES = [
    pytest.param(state, has_pickup, id=f"{state}-{'with-pickup' if has_pickup else 'dropoff-only'}")
    for has_pickup in (False, True)
    for state in S
    if has_pickup or state not in (S.EN_ROUTE_TO_PICKUP, S.PICKED_UP)
]


@pytest.mark.parametrize(("current", "has_pickup"), CASES)
async def test_every_transition_from(current: S, has_pickup: bool, shared_org: Org) -> None:
    admin, driver_id = shared_org.admin, shared_org.driver_ids[0]
    legal = {b for a, b in all_transitions(has_pickup=has_pickup) if a is current}

    probe = await new_order_in(admin, current, has_pickup, driver_id)
    events_before = (await admin.get(f"/api/v1/orders/{probe}/events")).json()
    for target in sorted(set(S) - legal):
        error = (await move(admin, probe, target, driver_id, expect=409)).json()["error"]
        assert error["code"] == "illegal_transition"
        assert f"'{current}'" in error["message"]
        assert f"'{target}'" in error["message"]
        assert error["details"] == {"current": current, "requested": target}
    after = (await admin.get(f"/api/v1/orders/{probe}")).json()
    assert after["status"] == current
    assert (await admin.get(f"/api/v1/orders/{probe}/events")).json() == events_before

    for target in sorted(legal):
        order_id = await new_order_in(admin, current, has_pickup, driver_id)
        moved = (await move(admin, order_id, target, driver_id, expect=200)).json()
        assert moved["status"] == target
        last = (await admin.get(f"/api/v1/orders/{order_id}/events")).json()[-1]
        assert (last["kind"], last["from_status"], last["to_status"]) == (
            "status_changed",
            current,
            target,
        )
        assert last["actor_role"] == "admin"
