"""A small, complete day of one organisation, built through the API as an admin would."""

from dataclasses import dataclass
from datetime import UTC, datetime

from tests.factories import Org, assign, order_payload


@dataclass
class World:
    depot_id: int
    vehicle_id: int
    own_order_id: int  # assigned to org.driver, on own_route
    own_stop_id: int
    other_order_id: int  # assigned to org.driver2, on other_route
    new_order_id: int  # just created
    own_route_id: int
    other_route_id: int
    token: str  # tracking link of own_order


async def build_world(org: Org) -> World:
    admin = org.admin
    depot = (
        await admin.post("/api/v1/depots", json={"name": "Hub", "lat": 43.73, "lng": 7.42})
    ).json()
    vehicle = (
        await admin.post("/api/v1/vehicles", json={"name": "Van", "capacity_weight_kg": 500})
    ).json()
    response = await admin.post(
        "/api/v1/orders/batch", json={"orders": [order_payload() for _ in range(3)]}
    )
    assert response.status_code == 201, response.text
    own, other, new = response.json()
    await assign(admin, own["id"], org.driver_ids[0])
    await assign(admin, other["id"], org.driver_ids[1])
    today = datetime.now(UTC).date().isoformat()
    routes = []
    for order, driver_id in ((own, org.driver_ids[0]), (other, org.driver_ids[1])):
        response = await admin.post(
            "/api/v1/routes",
            json={
                "driver_id": driver_id,
                "service_date": today,
                "stops": [{"stop_id": order["stops"][0]["id"]}],
            },
        )
        assert response.status_code == 201, response.text
        routes.append(response.json()["id"])
    link = (await admin.post(f"/api/v1/orders/{own['id']}/tracking-links", json={})).json()
    return World(
        depot_id=depot["id"],
        vehicle_id=vehicle["id"],
        own_order_id=own["id"],
        own_stop_id=own["stops"][0]["id"],
        other_order_id=other["id"],
        new_order_id=new["id"],
        own_route_id=routes[0],
        other_route_id=routes[1],
        token=link["token"],
    )
