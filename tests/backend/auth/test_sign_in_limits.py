"""Rate limits on failed sign-ins and refreshes: the limiter port (in memory and in a real
Redis), then over real HTTP on servers of their own with low limits; with Redis, two
workers share the counts."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from backend.auth.limits import SignInLimits
from backend.errors import TooManyRequestsError
from backend.ratelimit import Limiter
from backend.ratelimit.memory import MemoryLimiter
from backend.ratelimit.redis import RedisLimiter
from shared.api_client import ApiClient, ApiError, AuthError
from tests.conftest import make_settings
from tests.factories import PASSWORD, create_org_with_users
from tests.live_server import run_server

pytestmark = pytest.mark.timeout(120)

# Three failures per five minutes for an account, five for an address.
LOW_LIMITS = {
    "login_failures_per_account": 3,
    "login_failures_per_ip": 5,
    "login_failure_window_s": 300,
}


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[Limiter]:
    """Three allowances, one back every 10 s."""
    if request.param == "memory":
        found: Limiter = MemoryLimiter(per_minute=6, burst=3)
    else:
        redis_url = request.getfixturevalue("redis_url")
        found = RedisLimiter(redis_url, f"test-{uuid.uuid4().hex}", per_minute=6, burst=3)
    yield found
    await found.close()


async def test_failures_use_up_the_allowance_per_key(limiter: Limiter) -> None:
    for _ in range(3):
        assert await limiter.retry_after("10.0.0.1") == 0
        await limiter.miss("10.0.0.1")
    assert await limiter.retry_after("10.0.0.1") == pytest.approx(10, abs=0.5)
    assert await limiter.retry_after("10.0.0.2") == 0  # another key is not affected


async def test_workers_on_one_redis_share_the_counts(redis_url: str) -> None:
    scope = f"test-{uuid.uuid4().hex}"
    first, second = (RedisLimiter(redis_url, scope, per_minute=6, burst=2) for _ in range(2))
    try:
        await first.miss("alice@example.test")
        await second.miss("alice@example.test")
        assert await first.retry_after("alice@example.test") > 0
        assert await second.retry_after("alice@example.test") > 0
    finally:
        await first.close()
        await second.close()


async def _sign_in(
    web: httpx.AsyncClient, email: str, password: str, address: str
) -> httpx.Response:
    return await web.post(
        "/api/v1/auth/token",
        data={"username": email, "password": password},
        headers={"X-Forwarded-For": address},  # through the trusted local proxy
    )


def _assert_limited(response: httpx.Response, whose: str) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["Retry-After"]) <= 301
    error = response.json()["error"]
    assert error["code"] == "too_many_sign_ins"
    assert f"too many failed sign-ins {whose}; try again in" in error["message"]


async def test_an_account_is_locked_after_failed_sign_ins(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, **LOW_LIMITS)
    with run_server(settings) as url:
        _, _, emails, _ = await create_org_with_users(settings)
        admin, dispatcher = emails["admin"], emails["dispatcher"]
        async with httpx.AsyncClient(base_url=url) as web:
            for k in range(3):  # from three addresses: the account's own limit
                wrong = await _sign_in(web, admin, "wrong-password", f"203.0.113.{k}")
                assert wrong.status_code == 401
            # Now even the right password is refused, from anywhere, in any spelling.
            _assert_limited(
                await _sign_in(web, admin, PASSWORD, "198.51.100.1"), "for this account"
            )
            _assert_limited(
                await _sign_in(web, admin.upper(), PASSWORD, "198.51.100.2"), "for this account"
            )
            # Another account, even from an address that failed, is served.
            assert (await _sign_in(web, dispatcher, PASSWORD, "203.0.113.0")).status_code == 200


async def test_an_address_is_limited_after_failed_sign_ins_and_refreshes(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, **LOW_LIMITS)
    with run_server(settings) as url:
        _, _, emails, _ = await create_org_with_users(settings)
        guesser, colleague = "203.0.113.50", "198.51.100.50"
        async with httpx.AsyncClient(base_url=url) as web:
            for k in range(3):  # unknown accounts, each once
                wrong = await _sign_in(web, f"nobody{k}@example.test", "guess", guesser)
                assert wrong.status_code == 401
            for _ in range(2):  # refresh tokens that are not
                bad = await web.post(
                    "/api/v1/auth/refresh",
                    json={"refresh_token": "not-a-token"},
                    headers={"X-Forwarded-For": guesser},
                )
                assert bad.status_code == 401
            _assert_limited(
                await _sign_in(web, emails["admin"], PASSWORD, guesser), "from your network"
            )
            refresh = await web.post(
                "/api/v1/auth/refresh",
                json={"refresh_token": "not-a-token"},
                headers={"X-Forwarded-For": guesser},
            )
            _assert_limited(refresh, "from your network")
            # Another address signs in to the same account: the account did not fail.
            ok = await _sign_in(web, emails["admin"], PASSWORD, colleague)
            assert ok.status_code == 200
            pair = ok.json()
            renewed = await web.post(
                "/api/v1/auth/refresh",
                json={"refresh_token": pair["refresh_token"]},
                headers={"X-Forwarded-For": colleague},
            )
            assert renewed.status_code == 200


async def test_a_web_app_counts_each_browser_not_itself(tmp_path: Path) -> None:
    """The Flet apps call the API from their own server for every browser: their client
    passes each browser's address on, so one guesser does not lock everyone else out."""
    settings = make_settings(tmp_path, **LOW_LIMITS)
    with run_server(settings) as url:
        _, _, emails, _ = await create_org_with_users(settings)
        async with (
            ApiClient(url, client_address="203.0.113.77") as guesser,
            ApiClient(url, client_address="198.51.100.77") as colleague,
        ):
            for k in range(5):
                with pytest.raises(AuthError):
                    await guesser.login(f"nobody{k}@example.test", "guess")
            with pytest.raises(ApiError) as refused:
                await guesser.login(emails["dispatcher"], PASSWORD)
            assert refused.value.status == 429
            assert refused.value.code == "too_many_sign_ins"
            await colleague.login(emails["dispatcher"], PASSWORD)  # not refused
            assert (await colleague.me()).email == emails["dispatcher"]


async def test_two_workers_on_redis_share_the_sign_in_limit(tmp_path: Path, redis_url: str) -> None:
    settings = make_settings(tmp_path, redis_url=redis_url, **LOW_LIMITS)
    with run_server(settings) as first, run_server(settings) as second:
        _, _, emails, _ = await create_org_with_users(settings)
        admin = emails["admin"]
        async with httpx.AsyncClient(base_url=first) as a, httpx.AsyncClient(base_url=second) as b:
            assert (await _sign_in(a, admin, "wrong-password", "203.0.113.9")).status_code == 401
            assert (await _sign_in(b, admin, "wrong-password", "203.0.113.9")).status_code == 401
            assert (await _sign_in(a, admin, "wrong-password", "203.0.113.9")).status_code == 401
            _assert_limited(await _sign_in(b, admin, PASSWORD, "198.51.100.9"), "for this account")


async def test_sign_in_limits_raise_429_with_the_wait() -> None:
    limits = SignInLimits(MemoryLimiter(60, 2), MemoryLimiter(60, 1))
    await limits.check("10.0.0.1", "Ada@Example.test")
    await limits.failed("10.0.0.1", "Ada@Example.test")
    with pytest.raises(TooManyRequestsError) as refused:
        await limits.check("10.0.0.2", " ada@example.test")
    assert refused.value.retry_after_s >= 1
    await limits.check("10.0.0.1", None)  # the address has one left
