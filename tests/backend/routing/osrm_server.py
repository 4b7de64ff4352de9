"""Start the wheel's own ``osrm-routed`` on a free loopback port; stop it by PID."""

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from backend.regions.importer import osrm_binary
from tests.live_server import free_port

MAX_TABLE_SIZE = 1000


@contextmanager
def run_osrm_routed(osrm_file: Path, *, threads: int = 2) -> Iterator[str]:
    """Serve ``osrm_file`` (contraction hierarchies) until the block ends; yields its URL.

    The binary is started directly (not through ``python -m osrm``, which would put a
    Python parent in between), so the PID we stop is the server's own.
    """
    port = free_port()
    process = subprocess.Popen(
        [
            str(osrm_binary("osrm-routed")),
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--algorithm",
            "CH",
            "--max-table-size",
            str(MAX_TABLE_SIZE),
            "--max-matching-size",
            "1000",
            "--threads",
            str(threads),
            str(osrm_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"osrm-routed exited: {process.stderr.read()!r}")  # type: ignore[union-attr]
            try:
                httpx.get(f"{url}/nearest/v1/driving/7.41337,43.72956", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("osrm-routed did not start within 30 s") from None
                time.sleep(0.05)
        yield url
    finally:
        _stop(process)


def _stop(process: "subprocess.Popen[bytes]") -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    if process.stderr is not None:
        process.stderr.close()
