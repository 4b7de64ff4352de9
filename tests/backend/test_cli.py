"""The `lastmile` command line, run as a user runs it: a real process, a real database."""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ON_POSTGRES, database_env
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


def test_demo_runs_the_whole_platform_and_prints_where(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "LASTMILE_DATA_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    env.update(database_env(tmp_path))
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        demo = subprocess.Popen(
            [*LASTMILE, "demo", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while "track:" not in log.read_text() or log.read_text().count("track:") < 3:
            assert demo.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        time.sleep(0.5)
        lines = dict.fromkeys(("backend", "dispatcher", "driver"), "")
        tracks = []
        for name, url in re.findall(r"^(\w[\w-]*): (http\S+)$", log.read_text(), re.MULTILINE):
            if name == "track":
                tracks.append(url)
            else:
                lines[name] = url
        assert lines["backend"] == f"http://127.0.0.1:{port}"
        assert len(tracks) == 3
        _wait_for(f"{lines['backend']}/health")
        for url in tracks:
            token = url.rsplit("/", 1)[1]
            assert url.startswith(f"{lines['backend']}/t/")
            view = httpx.get(f"{lines['backend']}/api/v1/track/{token}")
            assert view.status_code == 200
            assert httpx.get(url).status_code == 200
        for app in ("dispatcher", "driver"):
            _wait_for(lines[app])
            assert "<html" in httpx.get(lines[app]).text.lower()
        text = log.read_text()
        assert "dispatcher@demo.lastmile.test" in text
        assert "lastmile-demo" in text
        signed_in = httpx.post(
            f"{lines['backend']}/api/v1/auth/token",
            data={"username": "driver1@demo.lastmile.test", "password": "lastmile-demo"},
        )
        routes = httpx.get(
            f"{lines['backend']}/api/v1/routes",
            headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"},
        ).json()
        assert routes["total"] == 1
        assert len(routes["items"][0]["stops"]) == 6
    finally:
        os.killpg(demo.pid, 2)  # Ctrl-C to the whole group, as a terminal would
        assert demo.wait(timeout=30) is not None
    # The data stays for the next start (on PostgreSQL it is in the server).
    assert ON_POSTGRES or (tmp_path / "lastmile.db").exists()


def test_demo_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(tmp_path, "demo", "--port", str(port))
    assert result.returncode == 1
    assert f"port {port}" in result.stdout
    assert "in use" in result.stdout
