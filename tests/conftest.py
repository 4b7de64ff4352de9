"""Fixtures: a real backend over a real socket, on a temporary SQLite database."""

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from backend.config import Environment, Settings
from tests.factories import Org, create_org_with_users, login
from tests.live_server import run_server
from tests.redis_server import REDIS_SERVER, run_redis

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": Environment.TEST,
        "data_dir": data_dir,
        "secret_key": "test-secret-key-that-is-long-enough",
        "public_base_url": "http://track.example.test",
        "access_token_ttl_s": 3600,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
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
