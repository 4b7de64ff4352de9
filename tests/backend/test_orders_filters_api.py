"""The orders grid's filters over HTTP: unassigned, zone (exact, with correct paging), the
dropoff window sort, and clear refusals of bad values."""

from typing import Any

import httpx

from tests.factories import Org, assign, create_order, window

# A square around Monaco's Boulevard des Moulins (WGS84 degrees), and a point in it.
SQUARE = [[43.738, 7.424], [43.738, 7.432], [43.744, 7.432], [43.744, 7.424]]
# An L shape: its bounding box holds OUTSIDE_L, the L itself does not.
L_SHAPE = [
    [43.730, 7.410],
    [43.730, 7.420],
    [43.732, 7.420],
    [43.732, 7.412],
    [43.740, 7.412],
    [43.740, 7.410],
]
INSIDE_L = (43.731, 7.418)
OUTSIDE_L = (43.738, 7.418)  # in the box, in the notch of the L


def dropoff(lat: float, lng: float, **extra: Any) -> dict[str, Any]:
    return {"address": f"{lat}, {lng}", "lat": lat, "lng": lng, **extra}


async def page(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/orders", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def zone(org: Org, points: list[list[float]], **extra: Any) -> int:
    body = {"name": "z", "kind": "zone", "points": points, **extra}
    response = await org.admin.post("/api/v1/zones", json=body)
    assert response.status_code == 201, response.text
    zone_id: int = response.json()["id"]
    return zone_id


async def test_unassigned_lists_the_orders_on_no_driver(org: Org) -> None:
    free = await create_order(org.dispatcher)
    taken = await create_order(org.dispatcher)
    await assign(org.dispatcher, taken["id"], org.driver_ids[0])

    only_free = await page(org.dispatcher, unassigned="true")
    only_taken = await page(org.dispatcher, unassigned="false")

    assert [o["id"] for o in only_free["items"]] == [free["id"]]
    assert only_free["total"] == 1
    assert [o["id"] for o in only_taken["items"]] == [taken["id"]]


async def test_zone_filter_is_exact_beyond_the_bounding_box(org: Org) -> None:
    inside = await create_order(org.dispatcher, dropoff=dropoff(*INSIDE_L))
    await create_order(org.dispatcher, dropoff=dropoff(*OUTSIDE_L))
    await create_order(org.dispatcher, dropoff=dropoff(43.70, 7.40))  # far away
    l_zone = await zone(org, L_SHAPE)

    found = await page(org.dispatcher, zone_id=l_zone)

    assert [o["id"] for o in found["items"]] == [inside["id"]]
    assert found["total"] == 1


async def test_zone_filter_pages_and_totals_stay_right(org: Org) -> None:
    inside = [
        (await create_order(org.dispatcher, dropoff=dropoff(43.740 + i * 0.0005, 7.428)))["id"]
        for i in range(5)
    ]
    for _ in range(3):
        await create_order(org.dispatcher, dropoff=dropoff(*OUTSIDE_L))
    square = await zone(org, SQUARE)

    seen: list[int] = []
    for offset in (0, 2, 4):
        part = await page(org.dispatcher, zone_id=square, sort="id", limit=2, offset=offset)
        assert part["total"] == 5
        seen += [o["id"] for o in part["items"]]

    assert seen == inside
    # Combined with another filter, the total is that of both.
    await assign(org.dispatcher, inside[0], org.driver_ids[0])
    both = await page(org.dispatcher, zone_id=square, unassigned="true")
    assert both["total"] == 4


async def test_corridor_zone_holds_what_is_near_its_line(org: Org) -> None:
    near = await create_order(org.dispatcher, dropoff=dropoff(43.7401, 7.4200))
    await create_order(org.dispatcher, dropoff=dropoff(43.7450, 7.4200))  # ~550 m off
    corridor = await zone(org, [[43.740, 7.415], [43.740, 7.425]], kind="corridor", width_m=100)

    found = await page(org.dispatcher, zone_id=corridor)

    assert [o["id"] for o in found["items"]] == [near["id"]]


async def test_sort_by_dropoff_window_start_puts_orders_without_one_last(org: Org) -> None:
    later = await create_order(org.dispatcher, dropoff=dropoff(43.74, 7.42, time_window=window(5)))
    sooner = await create_order(org.dispatcher, dropoff=dropoff(43.74, 7.42, time_window=window(1)))
    none = await create_order(org.dispatcher, dropoff=dropoff(43.74, 7.42))

    ascending = await page(org.dispatcher, sort="window_start")
    descending = await page(org.dispatcher, sort="-window_start")

    assert [o["id"] for o in ascending["items"]] == [sooner["id"], later["id"], none["id"]]
    assert [o["id"] for o in descending["items"]] == [later["id"], sooner["id"], none["id"]]


async def test_bad_filter_values_are_refused_in_words(org: Org, stranger: Org) -> None:
    for params in ({"unassigned": "maybe"}, {"zone_id": "north"}, {"sort": "weight"}):
        response = await org.dispatcher.get("/api/v1/orders", params=params)
        assert response.status_code == 422, (params, response.text)

    both = await org.dispatcher.get(
        "/api/v1/orders", params={"unassigned": "true", "driver_id": org.driver_ids[0]}
    )
    assert both.status_code == 422
    assert both.json()["error"]["code"] == "contradictory_filters"
    assert "driver_id" in both.json()["error"]["message"]

    theirs = await zone(stranger, SQUARE)
    other_org = await org.dispatcher.get("/api/v1/orders", params={"zone_id": theirs})
    assert other_org.status_code == 404
    assert other_org.json()["error"]["message"] == f"zone {theirs} not found"
