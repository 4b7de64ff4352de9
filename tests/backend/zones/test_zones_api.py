"""Zones over real HTTP: drawing, redrawing and removing them, refusals that say what is
wrong, roles, and organisations that never see each other's zones."""

import math
from typing import Any

import httpx
import pytest

from shared.api_client import ApiClient, ApiError
from shared.enums import ZoneKind
from shared.schemas.zones import ZoneCreate, ZoneUpdate
from tests.factories import PASSWORD, Org

LAT, LNG = 43.7384, 7.4246
M_PER_DEG = 111_195.0


def at(north_m: float, east_m: float) -> list[float]:
    return [LAT + north_m / M_PER_DEG, LNG + east_m / (M_PER_DEG * math.cos(math.radians(LAT)))]


SQUARE = [at(-200, -200), at(-200, 200), at(200, 200), at(200, -200)]
LINE = [at(0, -1_000), at(0, 1_000), at(800, 1_500)]


def zone(**overrides: Any) -> dict[str, Any]:
    return {"name": "Old town", "kind": "restricted", "points": SQUARE, **overrides}


async def create(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/zones", json=zone(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def refusal(response: httpx.Response) -> tuple[int, str, set[str]]:
    error = response.json()["error"]
    return response.status_code, error["message"], {d["field"] for d in error["details"] or []}


async def test_an_admin_draws_lists_redraws_and_removes_a_zone(org: Org) -> None:
    created = await create(org.admin, dwell_s=300)
    assert created["kind"] == "restricted"
    assert created["points"] == SQUARE
    assert created["active"] is True
    assert created["dwell_s"] == 300
    assert created["width_m"] is None
    road = await create(org.admin, name="Harbour road", kind="corridor", points=LINE, width_m=40)

    listed = (await org.dispatcher.get("/api/v1/zones")).json()
    assert [z["name"] for z in listed["items"]] == ["Old town", "Harbour road"]
    corridors = (await org.dispatcher.get("/api/v1/zones", params={"kind": "corridor"})).json()
    assert [z["id"] for z in corridors["items"]] == [road["id"]]

    url = f"/api/v1/zones/{created['id']}"
    smaller = [at(-100, -100), at(-100, 100), at(100, 100), at(100, -100), at(-100, -100)]
    response = await org.admin.patch(url, json={"points": smaller, "active": False})
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["points"] == smaller[:-1]  # the closing point is not kept
    assert changed["active"] is False
    assert changed["name"] == "Old town"
    assert changed["updated_at"] > created["updated_at"]
    assert (await org.dispatcher.get(url)).json() == changed
    inactive = (await org.dispatcher.get("/api/v1/zones", params={"active": False})).json()
    assert [z["id"] for z in inactive["items"]] == [created["id"]]

    assert (await org.admin.delete(url)).status_code == 204
    assert (await org.dispatcher.get(url)).status_code == 404
    assert (await org.dispatcher.get("/api/v1/zones")).json()["total"] == 1


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"points": [at(0, 0), at(100, 100), at(100, 0), at(0, 100)]}, "points", "crosses itself"),
        ({"points": [at(0, 0), at(0, 100), at(0, 0)]}, "points", "three distinct points"),
        ({"points": [at(0, 0), at(0, 100), at(0, 200)]}, "points", "in one line"),
        ({"points": [at(0, 0), at(0, 60_000), at(10, 0)]}, "points", "at most 50 km"),
        ({"points": [[91.0, 7.42], *SQUARE]}, "points.0.0", "less than or equal to 90"),
        ({"points": [[43.7, 180.5], *SQUARE]}, "points.0.1", "less than or equal to 180"),
        ({"points": [at(0, k) for k in range(1001)]}, "points", "at most 1000"),
        ({"points": [[43.7, 7.4, 12.0], *SQUARE]}, "points.0", "at most 2 items"),
        ({"kind": "corridor", "points": LINE}, "width_m", "needs width_m"),
        ({"kind": "corridor", "points": LINE, "width_m": 5}, "width_m", "greater than or equal"),
        ({"kind": "corridor", "points": LINE, "width_m": 6000}, "width_m", "less than or equal"),
        ({"kind": "corridor", "points": [at(0, 0)], "width_m": 50}, "points", "at least 2"),
        ({"width_m": 50}, "width_m", "for corridors only"),
        ({"kind": "district"}, "kind", "'zone', 'restricted' or 'corridor'"),
        ({"name": ""}, "name", "at least 1 character"),
        ({"dwell_s": -1}, "dwell_s", "greater than or equal to 0"),
        ({"colour": "red"}, "colour", "Extra inputs"),
    ],
)
async def test_bad_drawings_are_422s_that_say_what_is_wrong(
    shared_org: Org, overrides: dict[str, Any], field: str, words: str
) -> None:
    response = await shared_org.admin.post("/api/v1/zones", json=zone(**overrides))
    status, message, fields = refusal(response)
    assert status == 422
    assert field in fields
    assert words in message


async def test_a_change_is_checked_against_what_is_stored(org: Org) -> None:
    road = await create(org.admin, name="Road", kind="corridor", points=LINE, width_m=40)
    url = f"/api/v1/zones/{road['id']}"
    # New points for a corridor keep its width; a crossing line is fine for a road.
    zigzag = [at(0, 0), at(100, 100), at(100, 0), at(0, 100)]
    response = await org.admin.patch(url, json={"points": zigzag})
    assert response.status_code == 200, response.text
    assert response.json()["width_m"] == 40
    # ...but as a polygon that outline crosses itself, and nothing changes.
    status, message, fields = refusal(await org.admin.patch(url, json={"kind": "zone"}))
    assert status == 422
    assert "crosses itself" in message
    assert fields == {"points"}
    assert (await org.admin.get(url)).json()["kind"] == "corridor"
    # A corridor turned into a polygon drops its width.
    response = await org.admin.patch(url, json={"kind": "zone", "points": SQUARE})
    assert response.status_code == 200, response.text
    assert response.json()["width_m"] is None
    status, message, fields = refusal(await org.admin.patch(url, json={"kind": "corridor"}))
    assert status == 422
    assert "needs width_m" in message
    assert fields == {"width_m"}
    status, message, fields = refusal(await org.admin.patch(url, json={"name": None}))
    assert status == 422
    assert "name" in fields


async def test_organisations_never_see_or_touch_each_others_zones(org: Org, stranger: Org) -> None:
    mine = await create(org.admin)
    url = f"/api/v1/zones/{mine['id']}"
    assert (await stranger.dispatcher.get(url)).status_code == 404
    assert (await stranger.admin.patch(url, json={"name": "Mine now"})).status_code == 404
    assert (await stranger.admin.delete(url)).status_code == 404
    theirs = (await stranger.admin.get("/api/v1/zones", params={"limit": 500})).json()
    assert mine["id"] not in [z["id"] for z in theirs["items"]]
    assert (await org.admin.get(url)).json()["name"] == "Old town"


async def test_dispatchers_read_zones_admins_draw_them_drivers_neither(org: Org) -> None:
    mine = await create(org.admin)
    url = f"/api/v1/zones/{mine['id']}"
    assert (await org.dispatcher.get(url)).status_code == 200
    for response in (
        await org.dispatcher.post("/api/v1/zones", json=zone()),
        await org.dispatcher.patch(url, json={"name": "Renamed"}),
        await org.dispatcher.delete(url),
        await org.driver.get("/api/v1/zones"),
        await org.driver.get(url),
    ):
        status, message, _ = refusal(response)
        assert status == 403
        assert "role" in message
    assert (await org.admin.get(url)).json()["name"] == "Old town"


async def test_the_typed_client_draws_and_redraws(org: Org, base_url: str) -> None:
    async with ApiClient(base_url) as api:
        await api.login(org.emails["admin"], PASSWORD)
        square = [(lat, lng) for lat, lng in SQUARE]
        created = await api.create_zone(
            ZoneCreate(name="Depot yard", kind=ZoneKind.ZONE, points=square)
        )
        assert created.points == square
        renamed = await api.update_zone(created.id, ZoneUpdate(name="Yard"))
        assert renamed.name == "Yard"
        assert [z.id for z in (await api.list_zones(kind=ZoneKind.ZONE)).items] == [created.id]
        await api.delete_zone(created.id)
        with pytest.raises(ApiError) as gone:
            await api.update_zone(created.id, ZoneUpdate(name="Again"))
        assert gone.value.status == 404
