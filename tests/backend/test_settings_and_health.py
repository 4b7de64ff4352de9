"""Settings refuse unsafe defaults; /health tells whether the database and broker answer."""

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from backend.config import DEFAULT_SECRET, Environment, Settings
from tests.conftest import ON_POSTGRES, make_settings
from tests.live_server import free_port, run_server


def test_default_secret_is_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LASTMILE_ENVIRONMENT", "production")
    monkeypatch.delenv("LASTMILE_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="LASTMILE_SECRET_KEY"):
        Settings(_env_file=None)
    monkeypatch.setenv("LASTMILE_SECRET_KEY", "x" * 40)
    assert Settings(_env_file=None).environment is Environment.PRODUCTION


def test_development_runs_with_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LASTMILE_ENVIRONMENT", raising=False)
    monkeypatch.delenv("LASTMILE_SECRET_KEY", raising=False)
    assert Settings(_env_file=None).secret_key == DEFAULT_SECRET


def test_environment_variables_reach_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LASTMILE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6390/0")
    monkeypatch.setenv("LASTMILE_CORS_ORIGINS", "http://a.test, http://b.test")
    monkeypatch.setenv("LASTMILE_TILE_URL", "https://tiles.example.test/{z}/{x}/{y}.png")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    s = Settings(_env_file=None)
    assert s.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path / 'lastmile.db'}"
    assert s.redis_url == "redis://127.0.0.1:6390/0"
    assert s.cors_origins == ["http://a.test", "http://b.test"]
    assert s.tile_url.startswith("https://tiles.example.test/")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u:p@db.example.test/lastmile")
    assert Settings(_env_file=None).resolved_database_url.startswith("postgresql+asyncpg://")


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="secret_key"):
        Settings(secret_key="too-short", _env_file=None)


async def test_health_reports_database_and_broker(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    backend = "postgresql" if ON_POSTGRES else "sqlite"
    assert body["database"] == {"ok": True, "backend": backend, "detail": ""}
    assert body["broker"] == {"ok": True, "backend": "memory", "detail": ""}


async def test_health_is_503_when_the_broker_is_unreachable(tmp_path: Path) -> None:
    closed_port = free_port()  # nothing listens there
    settings = make_settings(tmp_path, redis_url=f"redis://127.0.0.1:{closed_port}/0")
    with run_server(settings) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is True
    assert body["broker"]["backend"] == "redis"
    assert body["broker"]["ok"] is False
    assert "Connect" in body["broker"]["detail"] or "refused" in body["broker"]["detail"]


def test_cors_origins_are_allowed_only_when_listed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, cors_origins=["http://dispatch.example.test"])
    with run_server(settings) as url:
        allowed = httpx.options(
            f"{url}/api/v1/orders",
            headers={
                "Origin": "http://dispatch.example.test",
                "Access-Control-Request-Method": "GET",
            },
        )
        other = httpx.options(
            f"{url}/api/v1/orders",
            headers={"Origin": "http://evil.example.test", "Access-Control-Request-Method": "GET"},
        )
    assert allowed.headers["access-control-allow-origin"] == "http://dispatch.example.test"
    assert "access-control-allow-origin" not in other.headers
