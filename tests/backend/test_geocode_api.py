"""``GET /api/v1/geocode`` through geopy against a fake Nominatim on a real socket."""

import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from backend.config import Settings
from tests.conftest import _new_org, make_settings
from tests.factories import Org
from tests.live_server import run_server

PLACES = [
    {"display_name": "Boulevard des Moulins, Monaco", "lat": "43.7402", "lon": "7.4276"},
    {"display_name": "Moulins, Allier, France", "lat": "46.5660", "lon": "3.3330"},
]


class FakeNominatim(BaseHTTPRequestHandler):
    """``/search``: PLACES for a query containing "moulins", nothing otherwise;
    "explode" answers 500."""

    queries: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query).get("q", [""])[0]
        type(self).queries.append(query)
        if url.path != "/search" or "explode" in query:
            self.send_response(500)
            self.end_headers()
            return
        body = json.dumps(PLACES if "moulins" in query.lower() else []).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def nominatim_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeNominatim)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def geocoding_base_url(
    nominatim_url: str, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A second backend on the session's database, with the fake Nominatim configured."""
    data_dir: Path = tmp_path_factory.mktemp("geocoding")
    configured = make_settings(
        data_dir,
        database_url=settings.resolved_database_url,
        geocoder="nominatim",
        geocoder_url=nominatim_url,
    )
    with run_server(configured) as url:
        yield url


@pytest.fixture
async def geo_org(settings: Settings, geocoding_base_url: str) -> AsyncIterator[Org]:
    async with _new_org(settings, geocoding_base_url) as fresh:
        yield fresh


async def test_candidates_come_from_the_configured_geocoder(geo_org: Org) -> None:
    response = await geo_org.dispatcher.get("/api/v1/geocode", params={"q": "Bd des Moulins"})

    assert response.status_code == 200, response.text
    assert response.json() == [
        {"address": "Boulevard des Moulins, Monaco", "lat": 43.7402, "lon": 7.4276},
        {"address": "Moulins, Allier, France", "lat": 46.566, "lon": 3.333},
    ]
    assert "Bd des Moulins" in FakeNominatim.queries


async def test_nothing_found_is_an_empty_list(geo_org: Org) -> None:
    response = await geo_org.dispatcher.get("/api/v1/geocode", params={"q": "Nowhere Street"})
    assert response.status_code == 200
    assert response.json() == []


async def test_a_failing_geocoder_is_a_503_in_words(geo_org: Org) -> None:
    response = await geo_org.dispatcher.get("/api/v1/geocode", params={"q": "explode"})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "geocoder_unavailable"
    assert "pin the address on the map" in error["message"]


async def test_drivers_may_not_geocode(geo_org: Org) -> None:
    response = await geo_org.driver.get("/api/v1/geocode", params={"q": "Bd des Moulins"})
    assert response.status_code == 403


async def test_without_a_geocoder_the_answer_says_to_pin_the_map(org: Org) -> None:
    response = await org.dispatcher.get("/api/v1/geocode", params={"q": "Bd des Moulins"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "no_geocoder"
    assert "no geocoder configured" in error["message"]


async def test_a_too_short_query_is_refused(org: Org) -> None:
    response = await org.dispatcher.get("/api/v1/geocode", params={"q": "x"})
    assert response.status_code == 422
