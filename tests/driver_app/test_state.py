"""The driver app's state against the real backend, through the real API client."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import httpx
import pytest

from app_kit.session import SESSION_EXPIRED
from driver_app.logic.stops import stop_status_label
from driver_app.state.app import DriverAppState
from shared.api_client import ApiClient
from shared.enums import DriverStatus
from shared.schemas.fleet import DriverOut
from tests.driver_app.routes import assigned_orders, dropoff_address, plan_route
from tests.factories import PASSWORD, Org
from tests.live_server import free_port

DAY = date(2031, 3, 14)
MORNING = datetime(2031, 3, 14, 7, 30, tzinfo=UTC)


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[ApiClient]:
    async with ApiClient(base_url) as api:
        yield api


_opened: list[DriverAppState] = []


def driver_app(client: ApiClient) -> DriverAppState:
    app = DriverAppState(client, now=lambda: MORNING, tz=UTC)
    _opened.append(app)
    return app


@pytest.fixture(autouse=True)
async def _close_apps() -> AsyncIterator[None]:
    """Signing in opens the live-updates socket: close it after each test."""
    yield
    while _opened:
        await _opened.pop().aclose()


async def test_driver_sees_exactly_their_own_stops_in_route_order(
    org: Org, client: ApiClient
) -> None:
    mine = await assigned_orders(org.dispatcher, org.driver_ids[0], 3)
    planned = [mine[2], mine[0], mine[1]]
    await plan_route(org.dispatcher, org.driver_ids[0], DAY, planned)
    theirs = await assigned_orders(org.dispatcher, org.driver_ids[1], 1)
    await plan_route(org.dispatcher, org.driver_ids[1], DAY, theirs)
    app = driver_app(client)

    assert await app.login(org.emails["driver"], PASSWORD)

    assert app.session.user is not None
    assert app.session.user.driver_id == org.driver_ids[0]
    assert [line.stop.address for line in app.today.lines] == [dropoff_address(o) for o in planned]
    assert app.today.next_index == 0
    assert [stop_status_label(line) for line in app.today.lines] == ["Assigned"] * 3
    assert app.today.driver is not None
    assert app.today.driver.id == org.driver_ids[0]


async def test_next_stop_is_the_first_unfinished_one(org: Org, client: ApiClient) -> None:
    orders = await assigned_orders(org.dispatcher, org.driver_ids[0], 3)
    await plan_route(org.dispatcher, org.driver_ids[0], DAY, orders)
    app = driver_app(client)
    assert await app.login(org.emails["driver"], PASSWORD)
    assert app.today.next_index == 0

    for status in ("en_route", "delivered"):
        response = await org.driver.post(
            f"/api/v1/orders/{orders[0]['id']}/transitions", json={"to": status}
        )
        assert response.status_code == 200, response.text
    await app.today.load()

    assert app.today.next_index == 1
    assert app.today.next_stop is not None
    assert app.today.next_stop.stop.address == dropoff_address(orders[1])
    assert stop_status_label(app.today.lines[0]) == "Delivered"


async def test_stops_of_other_days_are_not_today(org: Org, client: ApiClient) -> None:
    orders = await assigned_orders(org.dispatcher, org.driver_ids[0], 1)
    await plan_route(org.dispatcher, org.driver_ids[0], date(2031, 3, 15), orders)
    app = driver_app(client)

    assert await app.login(org.emails["driver"], PASSWORD)

    assert app.today.loaded
    assert app.today.lines == []
    assert app.today.next_index is None


async def test_wrong_password_shows_the_servers_message(
    org: Org, client: ApiClient, base_url: str
) -> None:
    async with httpx.AsyncClient(base_url=base_url) as raw:
        answer = await raw.post(
            "/api/v1/auth/token", data={"username": org.emails["driver"], "password": "nope-nope"}
        )
    app = driver_app(client)

    assert not await app.login(org.emails["driver"], "nope-nope")

    assert answer.status_code == 401
    assert app.session.error == answer.json()["error"]["message"]
    assert not app.session.signed_in
    assert client.tokens is None


async def test_missing_credentials_are_asked_for() -> None:
    async with ApiClient(f"http://127.0.0.1:{free_port()}") as nowhere:
        app = driver_app(nowhere)
        assert not await app.login("  ", "")
    assert app.session.error == "Enter your email and password."


async def test_unreachable_server_is_named_in_the_message() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with ApiClient(url) as nowhere:
        app = driver_app(nowhere)
        assert not await app.login("driver@example.test", PASSWORD)
    assert app.session.error is not None
    assert app.session.error.startswith("Cannot reach the server at")
    assert "127.0.0.1" in app.session.error
    assert not app.session.busy


async def test_a_dispatcher_is_sent_to_the_dispatcher_app(org: Org, client: ApiClient) -> None:
    app = driver_app(client)

    assert not await app.login(org.emails["dispatcher"], PASSWORD)

    assert app.session.error is not None
    assert "dispatcher app" in app.session.error
    assert client.tokens is None


async def test_shift_toggle_sets_the_status_dispatch_sees(org: Org, client: ApiClient) -> None:
    app = driver_app(client)
    assert await app.login(org.emails["driver"], PASSWORD)

    for status in (DriverStatus.ON_BREAK, DriverStatus.OFFLINE, DriverStatus.IDLE):
        await app.today.set_shift(status)
        assert app.today.driver is not None
        assert app.today.driver.status is status
        seen = await org.dispatcher.get(f"/api/v1/drivers/{org.driver_ids[0]}")
        assert seen.json()["status"] == status.value
    with pytest.raises(ValueError, match="chooses among"):
        await app.today.set_shift(DriverStatus.DELIVERING)


class HeldProfileClient(ApiClient):
    """Its profile answers can be held back, as on a slow network, once fetched."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.hold: asyncio.Event | None = None
        self.fetched = asyncio.Event()

    async def my_driver(self) -> DriverOut:
        driver = await super().my_driver()
        if self.hold is not None:
            self.fetched.set()
            await self.hold.wait()
        return driver


async def test_a_reload_begun_before_a_shift_change_does_not_undo_it(
    org: Org, base_url: str
) -> None:
    async with HeldProfileClient(base_url) as slow:
        app = driver_app(slow)
        assert await app.login(org.emails["driver"], PASSWORD)
        before = app.today.driver
        assert before is not None
        assert before.status is DriverStatus.OFFLINE
        slow.hold = asyncio.Event()
        reload = asyncio.create_task(app.today.load())  # a live update: reads "offline"
        await asyncio.wait_for(slow.fetched.wait(), 5)
        await app.today.set_shift(DriverStatus.IDLE)
        hold, slow.hold = slow.hold, None
        hold.set()
        await reload  # the stale "offline" arrives after the driver went on shift

        assert app.today.driver is not None
        assert app.today.driver.status is DriverStatus.IDLE
        await app.today.load()  # a later load reads the server again
        assert app.today.driver.status is DriverStatus.IDLE


async def test_logout_forgets_the_session_and_the_day(org: Org, client: ApiClient) -> None:
    orders = await assigned_orders(org.dispatcher, org.driver_ids[0], 1)
    await plan_route(org.dispatcher, org.driver_ids[0], DAY, orders)
    app = driver_app(client)
    assert await app.login(org.emails["driver"], PASSWORD)
    assert app.today.lines

    app.logout()

    assert not app.session.signed_in
    assert app.session.error is None
    assert app.today.lines == []
    assert app.today.driver is None
    assert not app.today.loaded
    assert client.tokens is None


async def test_a_revoked_session_returns_to_sign_in(org: Org, client: ApiClient) -> None:
    app = driver_app(client)
    assert await app.login(org.emails["driver"], PASSWORD)
    # Signing out everywhere (from another device) revokes this app's tokens too.
    assert (await org.driver.post("/api/v1/auth/logout")).status_code == 204

    await app.today.load()

    assert not app.session.signed_in
    assert app.session.error == SESSION_EXPIRED
    assert app.today.lines == []
    assert app.today.error is None
