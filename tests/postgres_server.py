"""A private PostgreSQL server on a free loopback port, in a temporary directory, for the tests.

Debian's ``postgresql`` package (``scripts/system-deps`` installs it) provides the binaries; no
system cluster or service is used. The server trusts every loopback connection, and runs
without fsync: test data need not survive a crash.

PostgreSQL refuses to run as root, and CI runs the tests as root: then ``initdb`` and
``postgres`` run as the unprivileged ``postgres`` user the Debian package creates (or
``nobody``), through ``setpriv`` (which execs: signals reach the server itself), in a
temporary directory given to that user.
"""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path

from tests.live_server import free_port


def _bin_dir() -> Path:
    """``LASTMILE_POSTGRES_BIN``, or the newest major version Debian has installed."""
    if chosen := os.environ.get("LASTMILE_POSTGRES_BIN"):
        return Path(chosen)
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


POSTGRES_BIN = _bin_dir()
POSTGRES_SERVER = str(POSTGRES_BIN / "postgres")
USER = "lastmile"
_names = count(1)


@dataclass(frozen=True)
class PostgresServer:
    port: int

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+asyncpg://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "lastmile") -> str:
        """A new empty database; returns its URL."""
        name = f"{prefix}_{next(_names)}"
        subprocess.run(
            [str(POSTGRES_BIN / "createdb"), *self._client_args(), name],
            check=True,
            capture_output=True,
        )
        return self.url(name)

    def _client_args(self) -> list[str]:
        return ["-h", "127.0.0.1", "-p", str(self.port), "-U", USER]

    def add_postgis_to_template(self) -> None:
        """PostGIS in ``template1``, when installed: every database made afterwards has it,
        and migrating one skips creating it (~0.5 s a database). Migration 0020 still runs
        its creation whenever a test migrates down past it and up again."""
        subprocess.run(
            [str(POSTGRES_BIN / "psql"), *self._client_args(), "-d", "template1", "-q",
             "-c", "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_available_extensions"
                   " WHERE name = 'postgis') THEN CREATE EXTENSION IF NOT EXISTS postgis;"
                   " END IF; END $$"],
            check=True,
            capture_output=True,
        )  # fmt: skip

    def accepts_connections(self) -> bool:
        ready = subprocess.run(
            [str(POSTGRES_BIN / "pg_isready"), *self._client_args(), "-d", "postgres"],
            capture_output=True,
        )
        return ready.returncode == 0


def _unprivileged_user() -> str | None:
    """Whom to run the server as: None for the current user, unless that is root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root and neither a postgres nor a nobody user exists")


def _as(user: str | None, argv: list[str]) -> list[str]:
    if user is None:
        return argv
    gid = pwd.getpwnam(user).pw_gid
    return ["setpriv", f"--reuid={user}", f"--regid={gid}", "--init-groups", "--", *argv]


@contextmanager
def run_postgres() -> Iterator[PostgresServer]:
    """Start a throwaway PostgreSQL; yield it; stop it and remove its files when the block ends."""
    user = _unprivileged_user()
    # As root, under /tmp: the server's user must reach it, whatever root's TMPDIR is.
    workdir = Path(tempfile.mkdtemp(prefix="lastmile-postgres-", dir=user and "/tmp"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(workdir, entry.pw_uid, entry.pw_gid)
    data_dir = workdir / "data"
    initdb = subprocess.run(
        _as(user, [str(POSTGRES_BIN / "initdb"), "-D", str(data_dir), "--auth=trust",
                   "-U", USER, "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]),
        cwd=workdir,
        capture_output=True,
        text=True,
    )  # fmt: skip
    if initdb.returncode != 0:
        shutil.rmtree(workdir, ignore_errors=True)
        raise RuntimeError(f"initdb failed (exit {initdb.returncode}):\n{initdb.stderr[-2000:]}")
    server = PostgresServer(free_port())
    log = (workdir / "server.log").open("wb")  # the server writes it through this handle
    process = subprocess.Popen(
        _as(user, [
            POSTGRES_SERVER, "-D", str(data_dir), "-k", str(workdir),
            "-h", "127.0.0.1", "-p", str(server.port), "-F",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=300",
        ]),
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not server.accepts_connections():
            if process.poll() is not None or time.monotonic() > deadline:
                output = (workdir / "server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"postgres did not start (exit {process.poll()}):\n{output}")
            time.sleep(0.1)
        server.add_postgis_to_template()
        yield server
    finally:
        process.send_signal(signal.SIGINT)  # "fast" shutdown: open sessions are cut
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)
