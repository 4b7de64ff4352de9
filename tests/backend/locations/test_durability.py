"""Acknowledgement means durable: SIGKILL the server mid-stream, restart, count.

The backend runs as a separate process (``python -m backend serve``); clients send batches
as fast as they can; every fix answered with a 200 must be in the history afterwards.
"""

import asyncio
import contextlib
import signal
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.conftest import make_settings
from tests.factories import create_org_with_users, login
from tests.live_server import free_port, server_process

BATCH = 25
SENDERS_PER_DRIVER = 3
KILL_AFTER = 3000  # acknowledged fixes


async def _send(
    client: httpx.AsyncClient,
    sender: int,
    acknowledged: list[float],
    enough: asyncio.Event,
    stop: asyncio.Event,
) -> None:
    base = time.time() - 3600 + sender * 1e-3  # distinct times for every sender
    i = 0
    while not stop.is_set():
        times = [base + (i + k) * 0.01 for k in range(BATCH)]
        i += BATCH
        body = [
            {"lat": 43.73, "lng": 7.42, "recorded_at": datetime.fromtimestamp(t, UTC).isoformat()}
            for t in times
        ]
        try:
            response = await client.post("/api/v1/drivers/me/locations", json=body)
        except httpx.HTTPError:
            return  # the server is gone
        if response.status_code == 200:
            assert response.json()["accepted"] == BATCH, response.text
            acknowledged.extend(times)
            if len(acknowledged) >= KILL_AFTER:
                enough.set()


def _stored(db: Path, driver_ids: list[int]) -> set[float]:
    # sqlite3's own context manager ends the transaction but leaves the file open.
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            f"SELECT recorded_at FROM location_fixes WHERE driver_id IN "
            f"({','.join('?' for _ in driver_ids)})",
            driver_ids,
        ).fetchall()
    return {round(datetime.fromisoformat(r).replace(tzinfo=UTC).timestamp(), 6) for (r,) in rows}


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan is reaped by whatever runs as PID 1, if at all)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def test_every_acknowledged_fix_survives_sigkill(tmp_path: Path) -> None:
    port = free_port()
    with server_process(tmp_path, port) as process:
        base_url = f"http://127.0.0.1:{port}"
        _, _, emails, driver_ids = await create_org_with_users(make_settings(tmp_path))
        clients = [await login(base_url, emails[key]) for key in ("driver", "driver2")]
        for client in clients:  # sign in before the clock starts
            assert (await client.get("/api/v1/drivers/me")).status_code == 200
        acknowledged: list[float] = []
        enough, stop = asyncio.Event(), asyncio.Event()
        senders = [
            asyncio.create_task(_send(client, n * 10 + k, acknowledged, enough, stop))
            for n, client in enumerate(clients)
            for k in range(SENDERS_PER_DRIVER)
        ]
        await asyncio.wait_for(enough.wait(), timeout=120)
        children = _children(process.pid)
        assert children, "no history writer process under the server"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        stop.set()
        await asyncio.gather(*senders)
        for client in clients:
            await client.aclose()
    # The server's history writer notices that the server is gone and ends by itself.
    deadline = time.monotonic() + 15
    while any(_running(pid) for pid in children):
        assert time.monotonic() < deadline, "the history writer outlived the killed server"
        await asyncio.sleep(0.1)
    acked = {round(t, 6) for t in acknowledged}
    with server_process(tmp_path, port):  # restarts on the same files: recovery works
        stored = _stored(tmp_path / "lastmile.db", driver_ids)
    missing = acked - stored
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged fixes were lost"
    assert len(acked) >= KILL_AFTER
    print(
        f"acknowledged {len(acked)}, stored {len(stored)} (in flight at the kill: "
        f"{len(stored) - len(acked)})"
    )
