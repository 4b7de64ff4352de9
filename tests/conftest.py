"""Fixtures: a real backend over a real socket, on a temporary SQLite database.

``LASTMILE_TEST_DATABASE=postgres`` runs the same tests on PostgreSQL instead: a private
server for the session (``tests/postgres_server.py``) and a database for each data directory
given to ``make_settings``, where SQLite has a file in it.
"""

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from backend.config import Environment, Settings
from tests.factories import Org, create_org_with_users, login
from tests.live_server import run_server
from tests.mosquitto_server import MOSQUITTO, Mosquitto, run_mosquitto
from tests.postgres_server import POSTGRES_SERVER, PostgresServer, run_postgres
from tests.redis_server import REDIS_SERVER, run_redis

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_DATABASE = os.environ.get("LASTMILE_TEST_DATABASE", "sqlite").lower()
if TEST_DATABASE not in ("sqlite", "postgres"):
    raise RuntimeError(f"LASTMILE_TEST_DATABASE must be sqlite or postgres, not {TEST_DATABASE}")
ON_POSTGRES = TEST_DATABASE == "postgres"


def sqlite_only(reason: str) -> pytest.MarkDecorator:
    """Skip a test of something only the SQLite path has when the tests run on PostgreSQL."""
    return pytest.mark.skipif(ON_POSTGRES, reason=f"SQLite only: {reason}")


# The session's PostgreSQL when the tests run on it (set by the `_test_database` fixture),
# and the database standing in for each data directory's SQLite file.
_postgres: list[PostgresServer] = []
_postgres_databases: dict[Path, str] = {}


def _postgres_database_of(data_dir: Path) -> str:
    """One database per data directory, as SQLite has one file: settings made twice for the
    same directory (a restarted server, a test's own engine) share their data."""
    key = Path(data_dir).resolve()
    if key not in _postgres_databases:
        _postgres_databases[key] = _postgres[0].create_database()
    return _postgres_databases[key]


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": Environment.TEST,
        "data_dir": data_dir,
        "secret_key": "test-secret-key-that-is-long-enough",
        "public_base_url": "http://track.example.test",
        "access_token_ttl_s": 3600,
        # Every test signs in from 127.0.0.1: the per-address limit is tested on its own
        # server (tests/backend/auth/test_sign_in_limits.py); per account it stays real.
        "login_failures_per_ip": 1_000_000,
    }
    if _postgres and "database_url" not in overrides:
        values["database_url"] = _postgres_database_of(data_dir)
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def database_env(data_dir: Path) -> dict[str, str]:
    """Environment for a backend process on ``data_dir``: its PostgreSQL database, when the
    tests run on PostgreSQL (otherwise the process finds the SQLite file in ``data_dir``)."""
    return {"DATABASE_URL": _postgres_database_of(data_dir)} if _postgres else {}


@pytest.fixture(scope="session", autouse=True)
def _test_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """On ``LASTMILE_TEST_DATABASE=postgres``, every test database is made on PostgreSQL."""
    if not ON_POSTGRES:
        yield
        return
    _postgres.append(request.getfixturevalue("postgres"))
    try:
        yield
    finally:
        _postgres.clear()
        _postgres_databases.clear()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, _test_database: None) -> Settings:
    return make_settings(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def base_url(settings: Settings) -> Iterator[str]:
    """One backend for the session; tests isolate themselves through their own organisation."""
    with run_server(settings) as url:
        yield url


@asynccontextmanager
async def _new_org(settings: Settings, base_url: str) -> AsyncIterator[Org]:
    org_id, slug, emails, driver_ids = await create_org_with_users(settings)
    clients = {role: await login(base_url, email) for role, email in emails.items()}
    try:
        yield Org(org_id, slug, emails, driver_ids, clients)
    finally:
        for client in clients.values():
            await client.aclose()


@pytest.fixture
async def org(settings: Settings, base_url: str) -> AsyncIterator[Org]:
    """A fresh organisation with a signed-in client for each role."""
    async with _new_org(settings, base_url) as fresh:
        yield fresh


def require(found: bool, message: str) -> None:
    """Skip locally when a system package is missing; in CI a missing one is a failure."""
    if found:
        return
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def require_tool(path: str, what: str) -> None:
    require(Path(path).exists(), f"{what} not found at {path}; scripts/test installs it (as root)")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server for the session (fails in CI, skips locally, when missing)."""
    require_tool(REDIS_SERVER, "redis-server (Debian package redis-server)")
    with run_redis() as url:
        yield url


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[Mosquitto]:
    """A real mosquitto for the session, with the sample ACL (fails in CI, skips locally,
    when missing)."""
    require_tool(MOSQUITTO, "mosquitto (Debian package mosquitto)")
    with run_mosquitto() as broker:
        yield broker


@pytest.fixture
async def clean_redis(redis_url: str) -> str:
    """The session's redis-server, emptied: organisation ids repeat across test databases."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    return redis_url


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A private PostgreSQL server for the session (fails in CI, skips locally, when missing)."""
    require_tool(POSTGRES_SERVER, "PostgreSQL (Debian package postgresql)")
    with run_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """A new empty database on the session's PostgreSQL, for this test alone."""
    return postgres.create_database()


@pytest.fixture(scope="session")
async def stranger(settings: Settings, base_url: str) -> AsyncIterator[Org]:
    """Another organisation, to prove nothing crosses between tenants."""
    async with _new_org(settings, base_url) as other:
        yield other


@pytest.fixture(scope="module")
async def shared_org(settings: Settings, base_url: str) -> AsyncIterator[Org]:
    """One organisation for a whole test module whose tests build their own objects.

    Signing in costs a deliberate ~0.25 s per user (Argon2), so tables of many small
    cases share one organisation rather than making one per case.
    """
    async with _new_org(settings, base_url) as other:
        yield other
