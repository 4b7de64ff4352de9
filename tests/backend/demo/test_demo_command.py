"""``lastmile demo`` as a person runs it: a real process on a real port, Ctrl-C, and again."""

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.conftest import database_env
from tests.live_server import free_port

LASTMILE = [sys.executable, "-m", "backend"]
API = "/api/v1"
LINE = re.compile(r"^(\w[\w-]*): (http\S+)$", re.MULTILINE)


def _start(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LASTMILE_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    env.update(database_env(data_dir))
    with log.open("w") as out:
        return subprocess.Popen(
            [*LASTMILE, "demo", "--port", str(port), "--speed", "30"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_for_lines(
    demo: subprocess.Popen[bytes], log: Path, timeout_s: float
) -> dict[str, list[str]]:
    """The printed ``NAME: URL`` lines, once the three tracking links are out."""
    deadline = time.monotonic() + timeout_s
    while True:
        found: dict[str, list[str]] = {}
        for name, url in LINE.findall(log.read_text()):
            found.setdefault(name, []).append(url)
        if len(found.get("track", [])) == 3 and "dispatcher" in found and "driver" in found:
            return found
        assert demo.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def _ctrl_c(demo: subprocess.Popen[bytes], log: Path) -> float:
    """Ctrl-C to the whole group, as a terminal sends it; seconds until it exited 0."""
    began = time.monotonic()
    os.killpg(demo.pid, signal.SIGINT)
    code = demo.wait(timeout=30)
    assert code == 0, log.read_text()
    return time.monotonic() - began


def _get(client: httpx.Client, path: str, **params: str | int) -> dict[str, object]:
    response = client.get(f"{API}{path}", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_demo_plans_publishes_drives_and_resumes_after_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "demo.log"
    demo = _start(tmp_path, port, log)
    took = float("inf")
    try:
        lines = _wait_for_lines(demo, log, timeout_s=240)
        assert lines["backend"] == [base]
        text = log.read_text()
        assert "optimising 150 orders over 12 drivers" in text
        assert "dispatcher@demo.lastmile.test" in text
        assert "driver1@demo.lastmile.test" in text
        assert "lastmile-demo" in text
        for url in lines["track"]:
            assert url.startswith(f"{base}/t/")
            assert httpx.get(url).status_code == 200
            token = url.rsplit("/", 1)[1]
            view = httpx.get(f"{base}{API}/track/{token}")
            assert view.status_code == 200, view.text

        token = httpx.post(
            f"{base}{API}/auth/token",
            data={"username": "dispatcher@demo.lastmile.test", "password": "lastmile-demo"},
        ).json()["access_token"]
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as api:
            assert _get(api, "/drivers", limit=1)["total"] == 12
            assert _get(api, "/orders", limit=1)["total"] == 150
            today = datetime.now(UTC).date().isoformat()
            routes = _get(api, "/routes", service_date=today)["items"]
            assert isinstance(routes, list)
            assert {r["status"] for r in routes} <= {"published", "in_progress", "completed"}
            assert len({r["driver_id"] for r in routes}) >= 11  # (nearly) everyone drives
            assert sum(len(r["stops"]) for r in routes) >= 140  # the day is planned
            for route in routes:  # published: every routed order is its driver's
                left = _get(api, "/orders", route_id=route["id"], status="created", limit=1)
                assert left["total"] == 0, route
            driver1 = httpx.post(
                f"{base}{API}/auth/token",
                data={"username": "driver1@demo.lastmile.test", "password": "lastmile-demo"},
            ).json()["access_token"]
            played = httpx.get(
                f"{base}{API}/drivers/me", headers={"Authorization": f"Bearer {driver1}"}
            ).json()["id"]

            # The simulated drivers (not driver1, whom a person plays) send fixes.
            deadline = time.monotonic() + 60
            moving: set[int] = set()
            while not moving:
                assert time.monotonic() < deadline, log.read_text()
                positions = api.get(f"{API}/fleet/positions").json()
                moving = {p["driver_id"] for p in positions} - {played}
                time.sleep(1)
            assert played not in {p["driver_id"] for p in positions}
            on_the_way = ["en_route", "arriving", "delivered", "failed", "rescheduled"]
            while not api.get(f"{API}/orders", params={"status": on_the_way}).json()["total"]:
                assert time.monotonic() < deadline, log.read_text()  # drivers take orders
                time.sleep(1)
        for app in ("dispatcher", "driver"):
            assert "<html" in httpx.get(lines[app][0], timeout=30).text.lower()
        assert demo.poll() is None, log.read_text()  # still up, until Ctrl-C
    finally:
        if demo.poll() is None:
            took = _ctrl_c(demo, log)
    assert took < 15

    # Again on the same port and data: no new orders, no new plan, the links at once.
    again = tmp_path / "again.log"
    demo = _start(tmp_path, port, again)
    try:
        began = time.monotonic()
        lines = _wait_for_lines(demo, again, timeout_s=120)
        assert time.monotonic() - began < 60
        text = again.read_text()
        assert "optimising" not in text
        assert "already published" in text
        assert lines["backend"] == [base]
        with httpx.Client(base_url=base) as client:
            token = client.post(
                f"{API}/auth/token",
                data={"username": "dispatcher@demo.lastmile.test", "password": "lastmile-demo"},
            ).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            assert _get(client, "/orders", limit=1)["total"] == 150
    finally:
        if demo.poll() is None:
            _ctrl_c(demo, again)
