"""Signing in, refreshing, signing out, and what a bad token gets."""

from datetime import UTC, datetime, timedelta

import httpx

from backend.auth import tokens
from backend.config import Settings
from tests.factories import PASSWORD, Org


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": email, "password": password})


async def test_password_flow_issues_working_tokens(org: Org, base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await sign_in(client, org.emails["dispatcher"].upper(), PASSWORD)
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer"
        me = await client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert me.status_code == 200
        assert me.json()["email"] == org.emails["dispatcher"]
        assert me.json()["role"] == "dispatcher"
        assert me.json()["org_slug"] == org.slug


async def test_two_sign_ins_in_the_same_second_get_different_tokens(
    org: Org, base_url: str
) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        first, second = [
            (await sign_in(client, org.emails["driver"], PASSWORD)).json() for _ in range(2)
        ]
    assert first["access_token"] != second["access_token"]
    assert first["refresh_token"] != second["refresh_token"]
    for pair in (first, second):
        me = await client_me(base_url, pair["access_token"])
        assert me["email"] == org.emails["driver"]


async def client_me(base_url: str, token: str) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body


async def test_driver_me_names_their_driver_profile(org: Org) -> None:
    me = (await org.driver.get("/api/v1/auth/me")).json()
    assert me["driver_id"] == org.driver_ids[0]


async def test_wrong_password_and_unknown_user_look_the_same(org: Org, base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        wrong = await sign_in(client, org.emails["admin"], "not-the-password")
        unknown = await sign_in(client, "nobody@example.test", "not-the-password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["error"] == {
            "code": "invalid_credentials",
            "message": "wrong email or password",
            "details": None,
        }


async def test_refresh_gives_a_new_pair_and_refuses_access_tokens(org: Org, base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        pair = (await sign_in(client, org.emails["admin"], PASSWORD)).json()
        refreshed = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        )
        assert refreshed.status_code == 200
        new_access = refreshed.json()["access_token"]
        me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {new_access}"})
        assert me.status_code == 200
        wrong_kind = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": pair["access_token"]}
        )
        assert wrong_kind.status_code == 401
        assert "refresh token" in wrong_kind.json()["error"]["message"]
        as_access = await client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {pair['refresh_token']}"}
        )
        assert as_access.status_code == 401


async def test_logout_ends_every_session_of_the_user(org: Org, base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        first = (await sign_in(client, org.emails["driver"], PASSWORD)).json()
        second = (await sign_in(client, org.emails["driver"], PASSWORD)).json()
        auth = {"Authorization": f"Bearer {first['access_token']}"}
        assert (await client.post("/api/v1/auth/logout", headers=auth)).status_code == 204
        for pair in (first, second):
            me = await client.get(
                "/api/v1/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
            )
            assert me.status_code == 401
            refreshed = await client.post(
                "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
            )
            assert refreshed.status_code == 401
        assert (await client.post("/api/v1/auth/logout")).status_code == 401
        assert (await sign_in(client, org.emails["driver"], PASSWORD)).status_code == 200


async def test_expired_and_forged_tokens_are_refused(
    org: Org, base_url: str, settings: Settings
) -> None:
    me = (await org.admin.get("/api/v1/auth/me")).json()
    past = datetime.now(UTC) - timedelta(hours=2)
    expired = tokens.issue(settings.secret_key, me["id"], "access", 60, 0, now=past)
    forged = tokens.issue("some-other-secret-key-entirely-0123456789", me["id"], "access", 600, 0)
    async with httpx.AsyncClient(base_url=base_url) as client:
        for token, words in ((expired, "expired"), (forged, "not valid"), ("garbage", "not valid")):
            response = await client.get(
                "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 401
            assert words in response.json()["error"]["message"]


async def test_admin_creates_users_in_their_own_organisation(org: Org, base_url: str) -> None:
    body = {"email": "New.Hire@Example.test", "password": "long-enough", "role": "driver"}
    created = await org.admin.post("/api/v1/users", json=body)
    assert created.status_code == 201
    assert created.json()["email"] == "new.hire@example.test"
    again = await org.admin.post("/api/v1/users", json=body)
    assert again.status_code == 409
    short = await org.admin.post(
        "/api/v1/users", json={**body, "email": "x@y.test", "password": "short"}
    )
    assert short.status_code == 400
    assert "8 characters" in short.json()["error"]["message"]
    async with httpx.AsyncClient(base_url=base_url) as client:
        signed_in = await sign_in(client, "new.hire@example.test", "long-enough")
        assert signed_in.status_code == 200
