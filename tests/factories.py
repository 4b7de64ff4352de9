"""Plain factory functions: organisations with a user of every role, orders, drivers."""

import itertools
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from backend.auth.service import create_user, get_or_create_org
from backend.config import Settings
from backend.db import create_engine, session_scope
from backend.models import Driver
from shared.enums import Role

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


@dataclass
class Org:
    """An organisation with an admin, a dispatcher and two drivers, and their clients."""

    id: int
    slug: str
    emails: dict[str, str]
    driver_ids: list[int]
    clients: dict[str, httpx.AsyncClient]

    @property
    def admin(self) -> httpx.AsyncClient:
        return self.clients["admin"]

    @property
    def dispatcher(self) -> httpx.AsyncClient:
        return self.clients["dispatcher"]

    @property
    def driver(self) -> httpx.AsyncClient:
        """Signed in as the first driver (``driver_ids[0]``)."""
        return self.clients["driver"]

    @property
    def driver2(self) -> httpx.AsyncClient:
        return self.clients["driver2"]


async def create_org_with_users(settings: Settings) -> tuple[int, str, dict[str, str], list[int]]:
    """Straight into the database, as the ``lastmile user create`` command does."""
    n = next(_counter)
    slug = f"org-{n}"
    emails = {
        "admin": f"admin{n}@example.test",
        "dispatcher": f"dispatcher{n}@example.test",
        "driver": f"driver{n}a@example.test",
        "driver2": f"driver{n}b@example.test",
    }
    engine = create_engine(settings.resolved_database_url)
    driver_ids = []
    try:
        async with session_scope(engine) as session:
            org = await get_or_create_org(session, slug)
            assert org.id is not None
            await create_user(session, org.id, emails["admin"], PASSWORD, Role.ADMIN, "Ada Admin")
            await create_user(session, org.id, emails["dispatcher"], PASSWORD, Role.DISPATCHER)
            for key, name in (("driver", "Dora Driver"), ("driver2", "Dirk Driver")):
                user = await create_user(session, org.id, emails[key], PASSWORD, Role.DRIVER, name)
                driver = Driver(org_id=org.id, user_id=user.id, name=name)
                session.add(driver)
                await session.flush()
                assert driver.id is not None
                driver_ids.append(driver.id)
    finally:
        await engine.dispose()
    return org.id, slug, emails, driver_ids


class SignIn(httpx.Auth):
    """Signs in on the client's first request, then sends the bearer token.

    Lazy because signing in costs a deliberate ~0.25 s (Argon2) and most tests use only
    one or two of an organisation's users.
    """

    requires_response_body = True

    def __init__(self, email: str, password: str) -> None:
        self.email, self.password = email, password
        self.token: str | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        if self.token is None:
            response = yield httpx.Request(
                "POST",
                request.url.copy_with(path="/api/v1/auth/token", query=None),
                data={"username": self.email, "password": self.password},
            )
            response.raise_for_status()
            self.token = response.json()["access_token"]
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


async def login(base_url: str, email: str, password: str = PASSWORD) -> httpx.AsyncClient:
    """A client signed in as ``email`` (on its first request)."""
    return httpx.AsyncClient(base_url=base_url, timeout=30, auth=SignIn(email, password))


def window(hours_from_now: float = 1, length_h: float = 2) -> dict[str, str]:
    start = datetime.now(UTC) + timedelta(hours=hours_from_now)
    return {"start": start.isoformat(), "end": (start + timedelta(hours=length_h)).isoformat()}


def order_payload(**overrides: Any) -> dict[str, Any]:
    n = next(_counter)
    payload: dict[str, Any] = {
        "reference": f"REF-{n}",
        "recipient_name": "Rita Recipient",
        "recipient_phone": "+377 600 000",
        "dropoff": {
            "address": f"{n} Boulevard des Moulins, Monaco",
            "lat": 43.7402,
            "lng": 7.4276,
            "time_window": window(),
            "service_time_s": 120,
        },
        "weight_kg": 2.5,
        "barcodes": [f"BC-{n}"],
    }
    payload.update(overrides)
    return payload


async def create_order(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/orders", json=order_payload(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def assign(client: httpx.AsyncClient, order_id: int, driver_id: int) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/orders/{order_id}/transitions", json={"to": "assigned", "driver_id": driver_id}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
