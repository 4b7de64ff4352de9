"""The `lastmile` command line, run as a user runs it: a real process, a real database."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import database_env
from tests.live_server import free_port

LASTMILE = [sys.executable, "-m", "backend"]


def run_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LASTMILE_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    env.update(database_env(data_dir))
    return subprocess.run(
        [*LASTMILE, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_user_create_makes_a_user_who_can_sign_in(tmp_path: Path) -> None:
    made = run_cli(
        tmp_path,
        "user",
        "create",
        "Boss@Acme.test",
        "--password",
        "s3cret-enough",
        "--role",
        "admin",
        "--org",
        "acme",
    )
    assert made.returncode == 0, made.stderr
    assert "created admin Boss@Acme.test" in made.stdout
    again = run_cli(
        tmp_path,
        "user",
        "create",
        "boss@acme.test",
        "--password",
        "s3cret-enough",
        "--role",
        "admin",
        "--org",
        "acme",
    )
    assert again.returncode == 1
    assert "already exists" in again.stdout
    short = run_cli(
        tmp_path, "user", "create", "x@acme.test", "--password", "short", "--role", "driver"
    )
    assert short.returncode == 1
    assert "8 characters" in short.stdout
    bad_role = run_cli(
        tmp_path, "user", "create", "y@acme.test", "--password", "x" * 9, "--role", "cook"
    )
    assert bad_role.returncode == 2

    port = free_port()
    env = {**os.environ, "LASTMILE_DATA_DIR": str(tmp_path), **database_env(tmp_path)}
    server = subprocess.Popen(
        [*LASTMILE, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/health")
        token = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": "boss@acme.test", "password": "s3cret-enough"},
        )
        assert token.status_code == 200
        me = httpx.get(
            f"{base}/api/v1/auth/me",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        ).json()
        assert (me["role"], me["org_slug"]) == ("admin", "acme")
    finally:
        server.terminate()
        server.wait(timeout=20)


def _wait_for(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout_s} s")


# `lastmile demo` itself (the day planned, published and driven; Ctrl-C; a second start):
# tests/backend/demo/test_demo_command.py.


def test_demo_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(tmp_path, "demo", "--port", str(port))
    assert result.returncode == 1
    assert f"port {port}" in result.stdout
    assert "in use" in result.stdout
