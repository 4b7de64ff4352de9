"""A real backend process for the benches that need one: a fresh data directory,
migrated, then ``python -m backend serve`` on a free port until it answers ``/health``.

Not a bench itself (the leading underscore keeps it out of ``tests/bench``'s list);
imported as ``bench._backend`` once a script has put the repository on ``sys.path``."""

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class DataDir:
    """Where a bench's server keeps its database, and the environment that says so."""

    path: Path
    env: dict[str, str]

    @property
    def database_url(self) -> str:
        """``DATABASE_URL`` when the data directory was made for a server database, else
        the directory's SQLite file."""
        return self.env.get("DATABASE_URL") or f"sqlite+aiosqlite:///{self.path}/lastmile.db"


async def migrated(prefix: str, secret: str, **env_extra: str) -> DataDir:
    """A new data directory with the schema in place, signed with ``secret``; ``env_extra``
    adds settings (``DATABASE_URL`` for PostgreSQL, ``REDIS_URL``), for the servers too."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    env = {
        **os.environ,
        "LASTMILE_DATA_DIR": str(path),
        "LASTMILE_SECRET_KEY": secret,
        "LASTMILE_ENVIRONMENT": "test",
        **env_extra,
    }
    migrate = [sys.executable, "-m", "backend", "migrate"]
    await asyncio.to_thread(subprocess.run, migrate, env=env, check=True, stdout=subprocess.DEVNULL)
    return DataDir(path, env)


async def serve(
    data: DataDir, log: Path, wait_s: float = 60.0
) -> tuple[subprocess.Popen[bytes], str]:
    """The server process and its ``http://`` base, once it answers ``/health``; its
    stderr goes to ``log``. Stop it with :func:`stop`."""
    port = free_port()
    server = await asyncio.to_thread(
        subprocess.Popen,
        [sys.executable, "-m", "backend", "serve", "--port", str(port)],
        env=data.env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        for _ in range(int(wait_s * 10)):
            if server.poll() is not None:
                raise SystemExit(f"the server exited with {server.returncode}; see {log}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{base}/health")).status_code == 200:
                    return server, base
            await asyncio.sleep(0.1)
    await stop(server)
    raise SystemExit(f"the server did not answer /health within {wait_s:.0f} s; see {log}")


async def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    await asyncio.to_thread(server.wait, 30)
