"""``GET /api/v1/map``: the apps learn where tiles come from and whose data to credit."""

from pathlib import Path

import httpx

from tests.conftest import make_settings
from tests.factories import Org, create_org_with_users, login
from tests.live_server import run_server


async def test_a_signed_in_driver_reads_this_servers_tiles(org: Org) -> None:
    """Relative: this server's own tiles (tests/backend/tiles/test_tiles_http.py serves them)."""
    response = await org.driver.get("/api/v1/map")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "tile_url": "/tiles/{z}/{x}/{y}.png",
        "attribution": "© OpenStreetMap contributors",
    }


async def test_without_a_token_it_is_refused(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as anonymous:
        response = await anonymous.get("/api/v1/map")
    assert response.status_code == 401
    assert "tile_url" not in response.text


async def test_the_configured_tile_server_and_credit_are_what_the_apps_get(
    tmp_path: Path,
) -> None:
    settings = make_settings(
        tmp_path,
        tile_url="https://tiles.example.test/{z}/{x}/{y}.png",
        tile_attribution="© Example Tiles, © OpenStreetMap contributors",
    )
    with run_server(settings) as url:
        _, _, emails, _ = await create_org_with_users(settings)
        async with await login(url, emails["driver"]) as driver:
            response = await driver.get("/api/v1/map")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "tile_url": "https://tiles.example.test/{z}/{x}/{y}.png",
        "attribution": "© Example Tiles, © OpenStreetMap contributors",
    }
