"""The driver app's offline work wired to the real backend: signing in opens the driver's
queue, what is queued shows on the stops at once and reaches the server, the GPS follows
the shift, and a kept token signs the driver back in when the app opens again."""

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from driver_app.logic.actions import ProofAction, TransitionAction
from driver_app.logic.stops import stop_status_label
from driver_app.services.location import Access, Reading
from driver_app.state.app import DriverAppState
from shared.api_client import ApiClient
from shared.enums import DriverStatus, OrderStatus
from tests.driver_app.routes import assigned_orders, plan_route
from tests.factories import PASSWORD, Org

DAY = date(2031, 3, 14)
MORNING = datetime(2031, 3, 14, 7, 30, tzinfo=UTC)


async def until(check: Callable[[], bool], seconds: float, what: str) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for: {what}")


class Phone:
    """The phone's GPS (a boundary we cannot run here): a position near Monaco's port."""

    def __init__(self) -> None:
        self.reads = 0

    async def access(self) -> Access:
        return Access.GRANTED

    async def read(self) -> Reading:
        self.reads += 1
        return Reading(
            lat=43.7350 + self.reads * 1e-4,
            lng=7.4210,
            recorded_at=datetime.now(UTC),
            speed_mps=8.0,
            accuracy_m=5.0,
        )


class MemoryTokens:
    """The phone's secure storage (a boundary: Keychain/Keystore)."""

    def __init__(self) -> None:
        self.value: str | None = None
        self.writes = 0

    async def load(self) -> str | None:
        return self.value

    async def save(self, refresh_token: str) -> None:
        self.value, self.writes = refresh_token, self.writes + 1

    async def clear(self) -> None:
        self.value, self.writes = None, self.writes + 1


@pytest.fixture
async def apps(base_url: str, tmp_path: Path) -> AsyncIterator[Callable[..., DriverAppState]]:
    opened: list[tuple[DriverAppState, ApiClient]] = []

    def make(**kwargs: object) -> DriverAppState:
        client = ApiClient(base_url)
        app = DriverAppState(
            client,
            data_dir=tmp_path / "phone",
            now=lambda: MORNING,
            tz=UTC,
            **kwargs,  # type: ignore[arg-type]
        )
        opened.append((app, client))
        return app

    yield make
    for app, client in opened:
        await app.aclose()
        await client.aclose()


async def test_queued_work_shows_at_once_then_reaches_the_server(
    org: Org, apps: Callable[..., DriverAppState]
) -> None:
    orders = await assigned_orders(org.dispatcher, org.driver_ids[0], 2)
    await plan_route(org.dispatcher, org.driver_ids[0], DAY, orders)
    app = apps()
    assert await app.login(org.emails["driver"], PASSWORD)
    assert app.offline is not None
    sync = app.offline.sync
    await until(lambda: sync.loaded, 5, "the queue read")
    # No network for now: the loop is stopped, so nothing can be sent.
    sync.stop()
    first = orders[0]["id"]
    await sync.submit(TransitionAction(order_id=first, to=OrderStatus.EN_ROUTE))
    await sync.submit(ProofAction(order_id=first, recipient_name="At the door"))

    # The stop is done and the next one comes up without the server having heard of it.
    await until(lambda: app.today.next_index == 1, 5, "the next stop to come up")
    assert stop_status_label(app.today.lines[0]) == "Delivered"
    assert app.today.waiting == {first: OrderStatus.DELIVERED}
    response = await org.dispatcher.get(f"/api/v1/orders/{first}")
    assert response.json()["status"] == "assigned"
    # A reload meanwhile (a live update) keeps showing what the driver did.
    await app.today.load()
    assert app.today.next_index == 1

    sync.start()  # the network is back
    await until(lambda: sync.pending == 0, 10, "the queue to empty")
    await until(lambda: not app.today.waiting, 5, "nothing waiting")
    response = await org.dispatcher.get(f"/api/v1/orders/{first}")
    assert response.json()["status"] == "delivered"
    await until(
        lambda: app.today.lines[0].order_status is OrderStatus.DELIVERED, 5, "server's word"
    )
    assert app.today.next_index == 1


async def test_the_gps_streams_while_on_shift_and_stops_when_it_ends(
    org: Org, apps: Callable[..., DriverAppState]
) -> None:
    phone = Phone()
    app = apps(location=lambda: phone)
    assert await app.login(org.emails["driver"], PASSWORD)
    assert app.offline is not None
    assert app.offline.gps is not None
    gps = app.offline.gps
    assert not gps.running  # off shift: the driver's position is theirs

    await app.today.set_shift(DriverStatus.IDLE)
    await until(lambda: gps.running and phone.reads > 0, 5, "the GPS to start")

    async def dispatcher_sees_driver() -> bool:
        positions = (await org.dispatcher.get("/api/v1/fleet/positions")).json()
        return any(p["driver_id"] == org.driver_ids[0] for p in positions)

    # The first fix of a shift waits at most a batch's deadline: end the shift to flush it.
    await app.today.set_shift(DriverStatus.OFFLINE)
    await until(lambda: not gps.running, 5, "the GPS to stop")
    for _ in range(250):
        if await dispatcher_sees_driver():
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the dispatcher never saw the driver's position")
    reads = phone.reads
    await asyncio.sleep(0.3)
    assert phone.reads == reads  # nothing read off shift
    assert app.position is not None


async def test_a_kept_token_signs_the_driver_back_in_and_signing_out_forgets_it(
    org: Org, apps: Callable[..., DriverAppState]
) -> None:
    orders = await assigned_orders(org.dispatcher, org.driver_ids[0], 1)
    await plan_route(org.dispatcher, org.driver_ids[0], DAY, orders)
    tokens = MemoryTokens()
    first = apps(tokens=tokens)
    assert await first.login(org.emails["driver"], PASSWORD)
    await until(lambda: tokens.value is not None, 5, "the token kept")
    await first.aclose()  # the app is closed

    again = apps(tokens=tokens)
    await again.start()  # opened: no password asked
    assert again.session.signed_in
    assert again.session.user is not None
    assert again.session.user.driver_id == org.driver_ids[0]
    assert len(again.today.lines) == 1
    assert again.offline is not None

    again.logout()
    await until(lambda: tokens.value is None, 5, "the token forgotten")
    third = apps(tokens=tokens)
    await third.start()
    assert not third.session.signed_in
    assert third.session.error is None  # nothing to complain about: just the form


async def test_a_refused_kept_token_is_forgotten(
    org: Org, apps: Callable[..., DriverAppState]
) -> None:
    tokens = MemoryTokens()
    tokens.value = "not-a-token-this-server-made"
    app = apps(tokens=tokens)
    await app.start()
    assert not app.session.signed_in
    await until(lambda: tokens.value is None, 5, "the bad token forgotten")
    assert await app.login(org.emails["driver"], PASSWORD)


async def test_a_stop_failed_for_tomorrow_leaves_the_list_and_the_next_comes_up(
    org: Org, apps: Callable[..., DriverAppState]
) -> None:
    from shared.failures import FailureReason

    orders = await assigned_orders(org.dispatcher, org.driver_ids[0], 2)
    await plan_route(org.dispatcher, org.driver_ids[0], DAY, orders)
    app = apps()
    assert await app.login(org.emails["driver"], PASSWORD)
    app.open_stop(app.today.lines[0])
    flow = app.stop_flow
    assert flow is not None
    flow.start_failure()
    flow.choose_reason(FailureReason.WRONG_ADDRESS)
    await flow.fail()
    assert app.stop_flow is None
    assert app.offline is not None
    sync = app.offline.sync
    await until(lambda: sync.pending == 0, 10, "sent")
    await until(lambda: len(app.today.lines) == 1, 10, f"gone: {app.today.lines}")
    assert app.today.next_index == 0
