"""Acknowledgement means durable: SIGKILL the server mid-stream, restart, count.

What "acknowledged" means: ``POST /api/v1/drivers/me/locations`` answers 200 with
``accepted`` only after :meth:`backend.locations.pipeline.Pipeline.ingest` returned, and
that returns only once the group commit (:class:`backend.locations.history.GroupCommitWriter`)
has committed the batch's accepted fixes: on SQLite the writer child process has committed
its transaction, on PostgreSQL the server has answered the ``COMMIT``. A batch cut off by the
kill gets no answer (a transport error), and the driver app sends it again. The driver
WebSocket's ``ack`` frame and the GPS protocols' answers follow the same rule.

The backend runs as a separate process (``python -m backend serve``); clients send batches
as fast as they can; every fix answered with a 200 must be in the history afterwards, once.
The test runs on the suite's database (``LASTMILE_TEST_DATABASE``); on PostgreSQL the worker
also has Redis, as a production worker does (``deploy/env.example``).
"""

import asyncio
import signal
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, select

from backend.db import create_engine
from backend.models import LocationFix
from tests.conftest import ON_POSTGRES, database_env, make_settings
from tests.factories import create_org_with_users, login
from tests.live_server import free_port, server_process

BATCH = 25
SENDERS_PER_DRIVER = 3
KILL_AFTER = 3000  # acknowledged fixes


async def _send(
    client: httpx.AsyncClient,
    driver_id: int,
    sender: int,
    acknowledged: list[tuple[int, float]],
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
            acknowledged.extend((driver_id, t) for t in times)
            if len(acknowledged) >= KILL_AFTER:
                enough.set()


async def _stored(data_dir: Path, driver_ids: list[int]) -> Counter[tuple[int, float]]:
    """(driver, recorded_at) of every stored fix of ``driver_ids``, with how often it is there."""
    engine = create_engine(make_settings(data_dir).resolved_database_url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(LocationFix.driver_id, LocationFix.recorded_at).where(
                        col(LocationFix.driver_id).in_(driver_ids)
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    return Counter((driver_id, _epoch(at)) for driver_id, at in rows)


def _epoch(at: datetime) -> float:
    return round((at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp(), 6)


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan is reaped by whatever runs as PID 1, if at all)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture
def worker_env(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    """The worker's database (and, on PostgreSQL, Redis: the production shape)."""
    env = database_env(tmp_path)
    if ON_POSTGRES:
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    return env


async def test_every_acknowledged_fix_survives_sigkill(
    tmp_path: Path, worker_env: dict[str, str]
) -> None:
    port = free_port()
    with server_process(tmp_path, port, **worker_env) as process:
        base_url = f"http://127.0.0.1:{port}"
        _, _, emails, driver_ids = await create_org_with_users(make_settings(tmp_path))
        clients = [await login(base_url, emails[key]) for key in ("driver", "driver2")]
        for client in clients:  # sign in before the clock starts
            assert (await client.get("/api/v1/drivers/me")).status_code == 200
        acknowledged: list[tuple[int, float]] = []
        enough, stop = asyncio.Event(), asyncio.Event()
        senders = [
            asyncio.create_task(
                _send(client, driver_ids[n], n * 10 + k, acknowledged, enough, stop)
            )
            for n, client in enumerate(clients)
            for k in range(SENDERS_PER_DRIVER)
        ]
        await asyncio.wait_for(enough.wait(), timeout=120)
        # SQLite: the history writer is a child process; on PostgreSQL there is none.
        children = [] if ON_POSTGRES else _children(process.pid)
        assert children or ON_POSTGRES, "no history writer process under the server"
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
    acked = {(driver_id, round(t, 6)) for driver_id, t in acknowledged}
    with server_process(tmp_path, port, **worker_env):  # restarts on the same data: recovery
        stored = await _stored(tmp_path, driver_ids)
    missing = acked - set(stored)
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged fixes were lost"
    twice = [fix for fix, n in stored.items() if n > 1]
    assert not twice, f"{len(twice)} fixes stored more than once, e.g. {twice[:3]}"
    assert len(acked) >= KILL_AFTER
    print(
        f"acknowledged {len(acked)}, stored {len(stored)} (in flight at the kill: "
        f"{len(stored) - len(acked)})"
    )
