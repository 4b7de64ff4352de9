"""Guessing tracking tokens is rate-limited per address: the limiter alone, then over a
real server (HTTP and the tracking WebSocket)."""

from pathlib import Path

import httpx
import pytest
import websockets

from backend.tracking_links.guessing import GuessLimiter
from tests.backend.auth.test_principal_cache import Clock
from tests.backend.locations.test_fanout_sockets import ws_url
from tests.backend.locations.test_socket_expiry import closed_code
from tests.backend.test_self_service import link_for
from tests.conftest import _new_org, make_settings
from tests.factories import create_order
from tests.live_server import run_server


def test_misses_use_up_the_allowance_which_comes_back_over_time() -> None:
    clock = Clock()
    limiter = GuessLimiter(per_minute=6, burst=3, clock=clock)  # one back every 10 s
    for _ in range(3):
        assert limiter.retry_after("10.0.0.1") == 0
        limiter.miss("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == pytest.approx(10)
    assert limiter.retry_after("10.0.0.2") == 0  # another address is not affected
    clock.now += 4
    assert limiter.retry_after("10.0.0.1") == pytest.approx(6)
    clock.now += 6
    assert limiter.retry_after("10.0.0.1") == 0
    limiter.miss("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == pytest.approx(10)
    clock.now += 3600  # refilled to the burst, never beyond it
    for _ in range(3):
        limiter.miss("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") > 0


def test_it_remembers_a_bounded_number_of_addresses() -> None:
    limiter = GuessLimiter(per_minute=1, burst=1, max_clients=100, clock=Clock())
    for k in range(1000):
        limiter.miss(f"10.0.{k // 256}.{k % 256}")
    assert len(limiter) == 100
    assert limiter.retry_after("10.0.3.231") > 0  # the newest are kept


def test_a_limit_without_a_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="refill"):
        GuessLimiter(per_minute=0)


async def test_an_address_guessing_tokens_is_refused_while_others_are_served(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, tracking_guesses_per_min=3)
    with run_server(settings) as url:
        async with _new_org(settings, url) as org:
            order = await create_order(org.dispatcher)
            token = await link_for(org, order["id"])
            guesser = {"X-Forwarded-For": "203.0.113.7"}  # through the trusted local proxy
            customer = {"X-Forwarded-For": "198.51.100.20"}
            async with httpx.AsyncClient(base_url=url) as web:
                # The customer's own link counts for nothing, however often it is opened.
                for _ in range(10):
                    mine = await web.get(f"/api/v1/track/{token}", headers=guesser)
                    assert mine.status_code == 200
                for k in range(3):
                    wrong = await web.get(f"/api/v1/track/guess-{k:04d}", headers=guesser)
                    assert wrong.status_code == 404
                refused = await web.get("/api/v1/track/guess-0003", headers=guesser)
                assert refused.status_code == 429
                assert 1 <= int(refused.headers["Retry-After"]) <= 21
                error = refused.json()["error"]
                assert error["code"] == "too_many_guesses"
                assert "try again in" in error["message"]
                # Refused whatever the token, so a refusal says nothing about it.
                assert (await web.get(f"/api/v1/track/{token}", headers=guesser)).status_code == 429
                slots = await web.get(f"/api/v1/track/{token}/slots", headers=guesser)
                assert slots.status_code == 429
                # Someone else's page is not affected.
                assert (
                    await web.get(f"/api/v1/track/{token}", headers=customer)
                ).status_code == 200


async def test_the_tracking_socket_is_limited_too(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, tracking_guesses_per_min=2)
    with run_server(settings) as url:
        for k in range(2):
            async with websockets.connect(ws_url(url, f"/api/v1/track/nope-{k}/ws")) as ws:
                assert await closed_code(ws, 5) == 4404
        async with websockets.connect(ws_url(url, "/api/v1/track/nope-2/ws")) as ws:
            assert await closed_code(ws, 5) == 4429
            assert "too many unknown tracking links" in (ws.close_reason or "")


async def test_workers_on_one_redis_share_the_guess_limit(tmp_path: Path, redis_url: str) -> None:
    """With ``REDIS_URL`` the allowances live in Redis: guesses at one worker count at the
    other, so more workers do not mean more guesses."""
    settings = make_settings(tmp_path, redis_url=redis_url, tracking_guesses_per_min=2)
    guesser = {"X-Forwarded-For": "203.0.113.77"}
    with run_server(settings) as first, run_server(settings) as second:
        async with httpx.AsyncClient() as web:
            for k, url in enumerate((first, second)):
                wrong = await web.get(f"{url}/api/v1/track/shared-{k}", headers=guesser)
                assert wrong.status_code == 404
            for url in (first, second):
                refused = await web.get(f"{url}/api/v1/track/shared-9", headers=guesser)
                assert refused.status_code == 429
                assert refused.json()["error"]["code"] == "too_many_guesses"
