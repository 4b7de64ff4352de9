"""A real Mosquitto on a free loopback port, in a temporary directory, for the tests.

Debian's ``mosquitto`` (``scripts/system-deps`` installs it, without starting its service):
persistence on (the backend's QoS 1 persistent session), a password file made with
``mosquitto_passwd`` and the sample ACL of ``deploy/mosquitto/acl``.
"""

import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.live_server import free_port

MOSQUITTO = "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"
SAMPLE_ACL = Path(__file__).resolve().parent.parent / "deploy" / "mosquitto" / "acl"
BACKEND_USER = "lastmile"  # the backend's user in the sample ACL


@dataclass
class Mosquitto:
    port: int
    workdir: Path
    process: subprocess.Popen[bytes]

    def url(self, user: str = BACKEND_USER, password: str | None = None) -> str:
        return f"mqtt://{user}:{password or user + '-secret'}@127.0.0.1:{self.port}"

    def restart(self, down_s: float = 0.0) -> None:
        """Stop the broker (it saves its sessions: persistence), stay down ``down_s``
        seconds, start it again on the same port and data."""
        self.stop()
        time.sleep(down_s)
        self.start()

    def stop(self) -> None:
        """Stop the broker (it saves its sessions); :meth:`start` brings it back."""
        _stop(self.process)

    def start(self) -> None:
        """Start the stopped broker again, on the same port and data."""
        self.process = _start(self.workdir, self.port)

    def add_user(self, user: str, password: str | None = None) -> None:
        """A user with ``password`` (default ``USER-secret``); the broker re-reads the file."""
        subprocess.run(
            [
                MOSQUITTO_PASSWD,
                "-b",
                str(self.workdir / "passwd"),
                user,
                password or f"{user}-secret",
            ],
            check=True,
            capture_output=True,
        )
        self.process.send_signal(signal.SIGHUP)
        time.sleep(0.2)  # the reload is asynchronous


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def run_mosquitto(acl: Path = SAMPLE_ACL) -> Iterator[Mosquitto]:
    """Start mosquitto with the ACL ``acl`` and one user, the backend's; stop it when the
    block ends."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="lastmile-mosquitto-"))
    passwd = workdir / "passwd"
    subprocess.run(
        [MOSQUITTO_PASSWD, "-c", "-b", str(passwd), BACKEND_USER, f"{BACKEND_USER}-secret"],
        check=True,
        capture_output=True,
    )
    shutil.copy(acl, workdir / "acl")
    (workdir / "mosquitto.conf").write_text(
        f"""\
per_listener_settings false
listener {port} 127.0.0.1
allow_anonymous false
password_file {passwd}
acl_file {workdir / "acl"}
persistence true
persistence_location {workdir}/
max_queued_messages 1000000
max_inflight_messages 1000
log_dest file {workdir}/mosquitto.log
log_type error
log_type warning
log_type notice
user {getpass.getuser()}
"""
    )
    if os.geteuid() == 0:  # mosquitto as root reads its files as the user named above
        os.chmod(workdir, 0o755)
    broker = Mosquitto(port, workdir, _start(workdir, port))
    try:
        yield broker
    finally:
        _stop(broker.process)
        shutil.rmtree(workdir, ignore_errors=True)


def _start(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [MOSQUITTO, "-c", str(workdir / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while not _accepts(port):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            log = (workdir / "mosquitto.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"mosquitto did not start ({process.poll()}): {log}")
        time.sleep(0.05)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
