"""Run the real backend with uvicorn on a free loopback port, in a thread or a process."""

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from backend.config import Settings
from backend.main import create_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def run_server(settings: Settings, port: int | None = None) -> Iterator[str]:
    """Serve ``create_app(settings)`` until the block ends; yields the base URL."""
    port = port or free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the backend did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def server_process(
    data_dir: Path, port: int, **env_extra: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``python -m backend serve`` as its own process (so a test can SIGKILL it) on
    ``data_dir``'s SQLite database; ``env_extra`` adds settings (``LASTMILE_...``, or a
    ``DATABASE_URL`` for another database)."""
    env = {**os.environ, "LASTMILE_DATA_DIR": str(data_dir), "LASTMILE_ENVIRONMENT": "development"}
    env.pop("DATABASE_URL", None)
    env.update(env_extra)
    process = subprocess.Popen(
        [sys.executable, "-m", "backend", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, "the backend exited during start"
            assert time.monotonic() < deadline, "the backend did not start"
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
