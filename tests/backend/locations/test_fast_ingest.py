"""The driver batch's short way through (``backend.locations.fast_ingest``) answers exactly
like the documented route, and only serves callers the route already let in."""

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.auth import tokens
from backend.config import Settings
from backend.locations.fast_ingest import VerifiedTokens
from tests.conftest import make_settings
from tests.factories import SignIn, create_org_with_users, login
from tests.live_server import run_server

PATH = "/api/v1/drivers/me/locations"


def fix(t: float, lat: float = 43.7300, **kw: Any) -> dict[str, Any]:
    at = datetime.fromtimestamp(t, UTC).isoformat()
    return {"lat": lat, "lng": 7.42, "recorded_at": at, **kw}


def bodies(now: float) -> dict[str, bytes]:
    good = [fix(now - 3), fix(now - 2, lat=43.7301), fix(now - 1, lat=43.7302)]
    mixed = [fix(now - 3), fix(now - 2, lat=95), "x", fix(now + 3600), fix(now - 1, lat=43.9)]
    return {
        "good": json.dumps({"fixes": good}).encode(),
        "mixed": json.dumps(mixed).encode(),
        "one fix": json.dumps(fix(now - 1)).encode(),
        "nan": json.dumps([fix(now - 2), fix(now - 1)]).replace("43.73", "NaN", 1).encode(),
        "not json": b"{not json",
        "string": b'"a string"',
        "501 fixes": json.dumps([fix(now - 1)] * 501).encode(),
        "over 1 MiB": b"[" + b" " * (1 << 20) + b"]",
    }


def same_but_seconds(text: str) -> Any:
    return json.loads(re.sub(r"is \d+ s in the future", "is N s in the future", text))


async def fast_count(admin: httpx.AsyncClient) -> int:
    response = await admin.get("/api/v1/fleet/metrics")
    assert response.status_code == 200, response.text
    return int(response.json().get("app_batches_fast", 0))


async def post(client: httpx.AsyncClient, raw: bytes) -> httpx.Response:
    return await client.post(PATH, content=raw, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("case", list(bodies(0)))
async def test_fast_path_answers_like_the_route(
    case: str, settings: Settings, base_url: str
) -> None:
    _, _, emails, _ = await create_org_with_users(settings)
    cold, warm, admin = [await login(base_url, emails[k]) for k in ("driver", "driver2", "admin")]
    async with cold, warm, admin:
        # The warm driver's first request goes through the route and caches its sign-in.
        nothing = {"accepted": 0, "rejected": [], "history_only": 0}
        assert (await post(warm, b"[]")).json() == nothing
        raw = bodies(time.time())[case]

        before = await fast_count(admin)
        by_route = await post(cold, raw)
        assert await fast_count(admin) == before  # a first request never takes the short way
        by_fast_path = await post(warm, raw)
        assert await fast_count(admin) == before + 1

    assert by_fast_path.status_code == by_route.status_code, (by_route.text, by_fast_path.text)
    # The two requests are a moment apart: "3600 s in the future" may read 3599 s in one.
    assert same_but_seconds(by_fast_path.text) == same_but_seconds(by_route.text)
    assert by_fast_path.headers["content-type"] == "application/json"
    if case == "mixed":  # the answer is about the batch, not just a shape
        reasons = {r["index"]: r["reason"] for r in by_route.json()["rejected"]}
        assert reasons == {1: "invalid", 2: "invalid", 3: "future", 4: "impossible_speed"}
    if case == "over 1 MiB":
        assert by_route.status_code == 413


async def test_a_signed_out_token_is_refused_after_the_short_way_served_it(
    settings: Settings, base_url: str
) -> None:
    _, _, emails, _ = await create_org_with_users(settings)
    driver = await login(base_url, emails["driver"])
    async with driver, httpx.AsyncClient(base_url=base_url) as by_hand:
        assert (await post(driver, b"[]")).status_code == 200  # cached now
        assert isinstance(driver.auth, SignIn)
        token = driver.auth.token
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        served = await by_hand.post(PATH, content=json.dumps([fix(time.time())]), headers=headers)
        assert served.status_code == 200, served.text
        assert (await driver.post("/api/v1/auth/logout")).status_code == 204

        refused = await by_hand.post(PATH, content=json.dumps([fix(time.time())]), headers=headers)
        assert refused.status_code == 401, refused.text
        forged = {**headers, "Authorization": f"Bearer {token}x"}
        assert (await by_hand.post(PATH, content=b"[]", headers=forged)).status_code == 401


async def test_other_roles_still_get_the_routes_answer(org: Any) -> None:
    for _ in range(2):  # the second time their sign-in is cached
        response = await post(org.dispatcher, b"[]")
        assert response.status_code == 403, response.text
        assert "driver" in response.json()["error"]["message"]


def test_verified_tokens_serve_a_token_only_until_it_expires() -> None:
    secret = "s" * 40
    cache = VerifiedTokens()
    token = tokens.issue(secret, 7, "access", ttl_s=2, version=3)
    assert cache.claims(secret, token).user_id == 7
    assert cache.claims(secret, token).version == 3  # from the cache now
    time.sleep(2.1)
    with pytest.raises(tokens.InvalidTokenError, match="expired"):
        cache.claims(secret, token)


def test_verified_tokens_never_vouch_for_a_forged_or_refresh_token() -> None:
    secret = "s" * 40
    cache = VerifiedTokens(max_entries=2)
    good = tokens.issue(secret, 7, "access", ttl_s=60, version=1)
    cache.claims(secret, good)
    forged = tokens.issue("x" * 40, 7, "access", ttl_s=60, version=1)
    with pytest.raises(tokens.InvalidTokenError):
        cache.claims(secret, forged)
    with pytest.raises(tokens.InvalidTokenError, match="access"):
        cache.claims(secret, tokens.issue(secret, 7, "refresh", ttl_s=60, version=1))
    for user in (8, 9, 10):  # over the bound: starts again, still answers right
        assert cache.claims(secret, tokens.issue(secret, user, "access", 60, 1)).user_id == user


async def test_a_browser_batch_gets_the_apps_cors_answer(tmp_path: Path) -> None:
    """The short way runs ahead of every middleware, CORS included: requests from a page
    (they carry an Origin) go through the app, so an allowed origin can read the answer."""
    origin = "http://driver.example.test"
    settings = make_settings(tmp_path, cors_origins=[origin])
    with run_server(settings) as url:
        _, _, emails, _ = await create_org_with_users(settings)
        async with await login(url, emails["driver"]) as driver:
            now = time.time()
            for k in range(2):  # the second one would take the short way if it could
                response = await driver.post(
                    PATH, json=[fix(now - 2 + k)], headers={"Origin": origin}
                )
                assert response.status_code == 200, response.text
                assert response.json()["accepted"] == 1
                assert response.headers["access-control-allow-origin"] == origin
