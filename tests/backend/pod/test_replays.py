"""Driver-side status changes carry a client id: a replay is answered, never done twice."""

from tests.backend.pod.test_pod_api import en_route_order
from tests.factories import Org, create_order


async def test_a_replayed_status_change_is_recorded_once(org: Org) -> None:
    order_id = await en_route_order(org)
    url = f"/api/v1/orders/{order_id}/transitions"
    body = {"to": "arriving", "client_id": "queue-status-0001"}
    first = await org.driver.post(url, json=body)
    assert first.status_code == 200, first.text
    back = await org.driver.post(url, json={"to": "en_route", "client_id": "queue-status-0002"})
    assert back.status_code == 200, back.text
    replay = await org.driver.post(url, json=body)  # the ack of the first one was lost
    assert replay.status_code == 200, replay.text
    assert replay.json()["status"] == "en_route"  # answered with the order as it is now
    events = (await org.dispatcher.get(f"/api/v1/orders/{order_id}/events")).json()
    assert [e["to_status"] for e in events].count("arriving") == 1
    assert [e["details"].get("client_id") for e in events[-2:]] == [
        "queue-status-0001",
        "queue-status-0002",
    ]


async def test_a_change_to_an_order_taken_away_says_so(org: Org) -> None:
    order = await create_order(org.dispatcher)
    url = f"/api/v1/orders/{order['id']}/transitions"
    assign = {"to": "assigned", "driver_id": org.driver_ids[0]}
    assert (await org.dispatcher.post(url, json=assign)).status_code == 200
    assert (await org.dispatcher.post(url, json={"to": "cancelled"})).status_code == 200
    late = await org.driver.post(url, json={"to": "en_route", "client_id": "queue-late-001"})
    assert late.status_code == 409, late.text
    error = late.json()["error"]
    assert error["code"] == "no_longer_yours"
    assert "now cancelled, with no driver" in error["message"]
    bad = await org.driver.post(url, json={"to": "en_route", "client_id": "no spaces!"})
    assert bad.status_code == 422


async def test_a_write_whose_answer_was_lost_before_the_order_moved_on_is_still_answered(
    org: Org,
) -> None:
    """The phone sent it, the answer was lost, then dispatch (or the follow-up) took the
    order away: the replay gets the first answer, not a 409 saying nothing was recorded."""
    from tests.backend.pod.test_failures import fail

    # A failure whose follow-up takes the order off the driver (rescheduled for another day).
    order_id = await en_route_order(org)
    first = await fail(org.driver, order_id, "wrong_address", "queue-fail-0001")
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "rescheduled"
    replay = await fail(org.driver, order_id, "wrong_address", "queue-fail-0001")
    assert replay.status_code == 201, replay.text
    assert (replay.json()["replayed"], replay.json()["follow_up"]) == (True, "next_day")
    other = await fail(org.driver, order_id, "wrong_address", "queue-fail-0002")
    assert other.status_code == 409  # a new report on an order no longer theirs
    assert other.json()["error"]["code"] == "no_longer_yours"

    # A status change, then dispatch reschedules the order (it leaves the driver).
    order_id = await en_route_order(org)
    url = f"/api/v1/orders/{order_id}/transitions"
    body = {"to": "failed", "reason": "not_home", "client_id": "queue-status-0101"}
    assert (await org.driver.post(url, json=body)).status_code == 200
    assert (await org.dispatcher.post(url, json={"to": "rescheduled"})).status_code == 200
    replay = await org.driver.post(url, json=body)
    assert replay.status_code == 200, replay.text
    events = (await org.dispatcher.get(f"/api/v1/orders/{order_id}/events")).json()
    assert [e["to_status"] for e in events].count("failed") == 1
    late = await org.driver.post(url, json={"to": "en_route", "client_id": "queue-status-0102"})
    assert late.status_code == 409

    # Another driver cannot borrow the first driver's client id to read the order.
    stolen = await org.driver2.post(url, json=body)
    assert stolen.status_code in (404, 409), stolen.text
