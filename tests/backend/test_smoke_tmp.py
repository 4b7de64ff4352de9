from tests.factories import Org, create_order


async def test_dispatcher_creates_and_reads_order(org: Org) -> None:
    order = await create_order(org.dispatcher)
    r = await org.dispatcher.get(f"/api/v1/orders/{order['id']}")
    assert r.status_code == 200
    assert r.json()["status"] == "created"
