"""Routing fixtures: the bundled Monaco extract imported once per session, real OSRM."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from backend.config import Settings
from backend.regions.importer import import_region
from backend.regions.metadata import osrm_file
from backend.routing.osrm_embedded import EmbeddedOsrm
from backend.routing.osrm_http import HttpOsrm
from backend.routing.router import RoadRouter, create_routing
from tests.backend.routing.osrm_server import run_osrm_routed
from tests.conftest import make_settings
from tests.factories import Org, create_org_with_users, login
from tests.live_server import run_server

REPO = Path(__file__).resolve().parents[3]
MONACO_PBF = REPO / "regions" / "monaco.osm.pbf"
MAX_SNAP_M = 1000.0


@pytest.fixture(scope="session")
def routing_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding ``regions/monaco``, imported from the repository's extract."""
    data_dir = tmp_path_factory.mktemp("routing-data")
    import_region(MONACO_PBF, data_dir / "regions")
    return data_dir


@pytest.fixture(scope="session")
def monaco_dir(routing_data_dir: Path) -> Path:
    return routing_data_dir / "regions" / "monaco"


@pytest.fixture(scope="session")
def embedded(monaco_dir: Path) -> EmbeddedOsrm:
    return EmbeddedOsrm(osrm_file(monaco_dir), max_snap_m=MAX_SNAP_M)


@pytest.fixture(scope="session")
def osrm_url(monaco_dir: Path) -> Iterator[str]:
    """The wheel's osrm-routed on a free loopback port, stopped by PID at the end."""
    with run_osrm_routed(osrm_file(monaco_dir)) as url:
        yield url


@pytest.fixture(scope="session")
def http_engine(osrm_url: str) -> Iterator[HttpOsrm]:
    engine = HttpOsrm(osrm_url, max_snap_m=MAX_SNAP_M)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def routing_settings(routing_data_dir: Path, settings: Settings) -> Settings:
    """The session's database, but a data dir with the Monaco region in it."""
    return make_settings(routing_data_dir, database_url=settings.resolved_database_url)


@pytest.fixture(scope="session")
def road_router(routing_settings: Settings) -> RoadRouter:
    router = create_routing(routing_settings)
    assert router is not None
    return router


@pytest.fixture(scope="session")
def routing_base_url(routing_settings: Settings, base_url: str) -> Iterator[str]:
    """A second backend that loaded Monaco at start (the session's one runs without a
    region, so tests that do not route stay fast). ``base_url`` first: it migrates."""
    with run_server(routing_settings) as url:
        yield url


@pytest.fixture
async def routing_org(settings: Settings, routing_base_url: str) -> AsyncIterator[Org]:
    """An organisation whose clients talk to the routing backend."""
    org_id, slug, emails, driver_ids = await create_org_with_users(settings)
    clients = {role: await login(routing_base_url, email) for role, email in emails.items()}
    try:
        yield Org(org_id, slug, emails, driver_ids, clients)
    finally:
        for client in clients.values():
            await client.aclose()
