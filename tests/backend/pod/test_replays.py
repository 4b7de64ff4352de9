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
