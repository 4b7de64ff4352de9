"""Redis restarted under live fan-out: two workers, a dispatcher and a customer socket on
worker B, a driver sending to worker A; redis-server is stopped and started again, empty, on
the same port.

What the driver gets during the outage: its fixes are stored in the database and
acknowledged as usual (an acknowledgement means "stored", and storing needs no Redis); only
the live views miss the positions sent meanwhile. ``/health`` says the broker is down while
it is. Once Redis is back, the workers' subscriptions come back by themselves: the same
sockets, never reconnected, see the next positions within a few seconds.
"""

import asyncio
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.realtime.backoff import Backoff
from backend.realtime.broker import BrokerUnavailableError
from backend.realtime.redis import RedisBroker
from tests.backend.locations.test_fanout_sockets import (
    access_token,
    frames_until,
    live,
    routed_orders,
    ws_url,
)
from tests.conftest import make_settings, require_tool
from tests.factories import Org, create_org_with_users, login
from tests.live_server import free_port, run_server
from tests.redis_server import REDIS_SERVER, run_redis

START = time.time() - 900  # the driver's clock: one fix every 20 s of it, ~170 m apart


def fix(i: int) -> dict[str, Any]:
    recorded_at = datetime.fromtimestamp(START + 20 * i, UTC).isoformat()
    return {"lat": 43.70 + 0.0015 * i, "lng": 7.42, "recorded_at": recorded_at, "accuracy_m": 5}


async def send(driver: httpx.AsyncClient, i: int) -> None:
    response = await driver.post("/api/v1/drivers/me/locations", json={"fixes": [fix(i)]})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1, response.text


async def health(client: httpx.AsyncClient, want_ok: bool, within_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    while True:
        response = await client.get("/health")
        body: dict[str, Any] = response.json()
        if body["broker"]["ok"] is want_ok:
            assert response.status_code == (200 if want_ok else 503), body
            return body
        assert time.monotonic() < deadline, f"/health still says {body}"
        await asyncio.sleep(0.1)


@pytest.fixture
def redis_port() -> int:
    """A free port for this test's own redis-server, which it stops and starts again."""
    require_tool(REDIS_SERVER, "redis-server (Debian package redis-server)")
    return free_port()


async def test_subscribers_recover_after_redis_restarts(tmp_path: Path, redis_port: int) -> None:
    url = f"redis://127.0.0.1:{redis_port}/0"
    settings = make_settings(tmp_path, redis_url=url)
    with ExitStack() as stack:
        first_redis = ExitStack()
        first_redis.enter_context(run_redis(redis_port))
        stack.callback(first_redis.close)
        worker_a = stack.enter_context(run_server(settings))
        worker_b = stack.enter_context(run_server(settings))
        org_id, slug, emails, driver_ids = await create_org_with_users(settings)
        driver = await login(worker_a, emails["driver"])
        dispatcher = await login(worker_b, emails["dispatcher"])
        org = Org(org_id, slug, emails, driver_ids, {"dispatcher": dispatcher, "driver": driver})
        async with driver, dispatcher:
            _, tokens = await routed_orders(org, 1)
            fleet = ws_url(worker_b, f"/api/v1/fleet/ws?token={await access_token(dispatcher)}")
            async with (
                live(fleet) as dispatcher_socket,
                live(ws_url(worker_b, f"/api/v1/track/{tokens[0]}/ws")) as customer_socket,
            ):

                async def both_see(i: int, within_s: float) -> None:
                    """Fix ``i`` reaches the dispatcher, and the customer's approximate
                    position moves to it, within ``within_s`` seconds of being sent."""
                    at = fix(i)["recorded_at"]
                    await frames_until(
                        dispatcher_socket,
                        "positions",
                        within_s,
                        lambda f: any(p["recorded_at"] == at for p in f["positions"]),
                    )
                    await frames_until(
                        customer_socket,
                        "driver_position",
                        within_s,
                        lambda f: f["position"] is not None and f["position"]["recorded_at"] == at,
                    )

                await send(driver, 0)
                await both_see(0, 5)

                first_redis.close()  # redis-server stops: every connection to it drops
                sent_at = time.monotonic()
                await send(driver, 1)  # stored and acknowledged without Redis
                await send(driver, 2)
                assert time.monotonic() - sent_at < 3, "ingest waited for the missing Redis"
                down = await health(dispatcher, want_ok=False, within_s=5)
                assert down["database"]["ok"] is True
                history = await dispatcher.get(f"/api/v1/drivers/{driver_ids[0]}/locations")
                stored = [f["recorded_at"] for f in history.json()["items"]]
                assert [datetime.fromisoformat(t) for t in stored[-2:]] == [
                    datetime.fromisoformat(fix(i)["recorded_at"]) for i in (1, 2)
                ]

                with run_redis(redis_port):  # the same port, empty
                    await health(dispatcher, want_ok=True, within_s=10)
                    # The next fixes reach the same two sockets: keep sending (one every
                    # half second, as a moving driver would) until both have seen one.
                    recovered = time.monotonic()
                    i = 3
                    while True:
                        await send(driver, i)
                        try:
                            await both_see(i, 0.5)
                            break
                        except (AssertionError, TimeoutError):
                            assert time.monotonic() - recovered < 10, "no fan-out after restart"
                        i += 1
                    print(f"fan-out back {time.monotonic() - recovered:.1f} s after Redis")
                    # and from then on, every fix gets through
                    await send(driver, i + 1)
                    await both_see(i + 1, 3)


async def test_publishing_fails_fast_while_redis_is_down_and_resumes_after() -> None:
    require_tool(REDIS_SERVER, "redis-server (Debian package redis-server)")
    port = free_port()
    now = [0.0]
    broker = RedisBroker(
        f"redis://127.0.0.1:{port}/0", backoff=Backoff(first_s=1, max_s=1), clock=lambda: now[0]
    )
    try:
        with pytest.raises(BrokerUnavailableError, match="unreachable"):
            await broker.publish("c", b"lost")
        with run_redis(port):
            # Within the pause, nothing is tried, even though Redis is back.
            with pytest.raises(BrokerUnavailableError, match="not published"):
                await broker.publish("c", b"not tried")
            now[0] = 1.0
            await broker.publish("c", b"delivered")  # the next attempt gets through
            await broker.ping()
    finally:
        await broker.close()


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    backoff = Backoff(first_s=0.1, max_s=4.0)
    assert [backoff.delay_s(n, jitter=1.0) for n in (0, 1, 2, 3)] == [0.0, 0.1, 0.2, 0.4]
    assert backoff.delay_s(50, jitter=1.0) == 4.0
    assert backoff.delay_s(50, jitter=0.0) == 2.0
    assert all(2.0 <= backoff.delay_s(9) <= 4.0 for _ in range(100))
