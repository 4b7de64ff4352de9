"""The typed client both apps use, against the real backend."""

import httpx
import pytest

from shared.api_client import ApiClient, ApiError, AuthError
from shared.enums import DriverStatus, OrderStatus
from shared.schemas.orders import OrderCreate, StopIn, TransitionRequest
from tests.factories import PASSWORD, Org


async def test_dispatcher_flow_through_the_client(org: Org, base_url: str) -> None:
    async with ApiClient(base_url) as api:
        await api.login(org.emails["dispatcher"], PASSWORD)
        me = await api.me()
        assert me.role == "dispatcher"
        order = await api.create_order(
            OrderCreate(
                recipient_name="Client Test",
                dropoff=StopIn(address="1 Rue Grimaldi", lat=43.73, lng=7.42),
                barcodes=["CLIENT-1"],
            )
        )
        assert order.status is OrderStatus.CREATED
        assigned = await api.transition(
            order.id, TransitionRequest(to=OrderStatus.ASSIGNED, driver_id=org.driver_ids[0])
        )
        assert assigned.driver_id == org.driver_ids[0]
        page = await api.list_orders(status=[OrderStatus.ASSIGNED])
        assert [o.id for o in page.items] == [order.id]
        events = await api.order_events(order.id)
        assert [e.to_status for e in events] == [OrderStatus.CREATED, OrderStatus.ASSIGNED]
        link = await api.create_tracking_link(order.id)
        view = await api.track(link.token)
        assert view.driver_first_name == "Dora"
        drivers = await api.list_drivers()
        assert {d.id for d in drivers.items} == set(org.driver_ids)

        with pytest.raises(ApiError) as illegal:
            await api.transition(order.id, TransitionRequest(to=OrderStatus.DELIVERED))
        assert illegal.value.status == 409
        assert illegal.value.code == "illegal_transition"


async def test_driver_sets_their_status(org: Org, base_url: str) -> None:
    async with ApiClient(base_url) as api:
        await api.login(org.emails["driver"], PASSWORD)
        me = await api.my_driver()
        assert me.id == org.driver_ids[0]
        assert (await api.set_my_status(DriverStatus.IDLE)).status is DriverStatus.IDLE


async def test_wrong_password_raises_auth_error_with_the_servers_words(
    org: Org, base_url: str
) -> None:
    async with ApiClient(base_url) as api:
        with pytest.raises(AuthError) as info:
            await api.login(org.emails["driver"], "nope-nope-nope")
    assert info.value.message == "wrong email or password"


async def test_expired_access_token_is_refreshed_once(org: Org, base_url: str) -> None:
    async with ApiClient(base_url) as api:
        await api.login(org.emails["admin"], PASSWORD)
        assert api.tokens is not None
        api.tokens = api.tokens.model_copy(update={"access_token": "expired-or-garbage"})
        assert (await api.me()).role == "admin"  # refreshed behind the scenes
        assert api.tokens.access_token != "expired-or-garbage"


async def test_unreachable_server_is_a_transport_error() -> None:
    async with ApiClient("http://127.0.0.1:9") as api:
        with pytest.raises(httpx.TransportError):
            await api.login("a@b.test", "whatever-pw")


async def test_a_batch_sent_again_with_its_key_is_answered_not_created(
    org: Org, base_url: str
) -> None:
    orders = [
        OrderCreate(
            recipient_name=f"Batch {i}",
            dropoff=StopIn(address=f"{i} Rue Grimaldi", lat=43.73, lng=7.42),
            barcodes=[f"ONCE-{i}"],
        )
        for i in range(3)
    ]
    async with ApiClient(base_url) as api:
        await api.login(org.emails["dispatcher"], PASSWORD)
        first = await api.create_orders_once(orders, "import-test-key")
        again = await api.create_orders_once(orders, "import-test-key")
        assert (first.replayed, again.replayed) == (False, True)
        assert [o.id for o in again.orders] == [o.id for o in first.orders]
        assert (await api.list_orders()).total == 3
        with pytest.raises(ApiError) as reused:
            await api.create_orders_once(orders[:1], "import-test-key")
        assert (reused.value.status, reused.value.code) == (422, "idempotency_key_reused")
