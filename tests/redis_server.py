"""A real redis-server on a free loopback port, in a temporary directory, for the tests.

Debian's ``redis-server`` (``scripts/system-deps`` installs it); nothing is persisted.
"""

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.live_server import free_port

REDIS_SERVER = "/usr/bin/redis-server"


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def run_redis(port: int | None = None) -> Iterator[str]:
    """Start redis-server (on ``port``, or a free one); yield its URL (database 0); stop it
    when the block ends. A test restarts Redis by starting a second one on the first one's
    port once its block ended: clients see the connection drop, then an empty Redis."""
    port = port or free_port()
    workdir = tempfile.mkdtemp(prefix="lastmile-redis-")
    process = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", workdir,
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--maxclients", "10000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while not _answers_ping(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start (exit code {process.poll()})")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(workdir, ignore_errors=True)
