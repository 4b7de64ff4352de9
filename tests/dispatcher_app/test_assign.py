"""Assigning and reordering in the dispatcher app: the preview in words, moving a stop, and
the state against the real server (nothing changes until published)."""

from datetime import UTC, date, datetime, timedelta

from dispatcher_app.logic.assign import moved, route_summary, stop_lines
from dispatcher_app.state.app import DispatcherAppState
from shared.api_client import ApiClient
from shared.enums import OrderStatus, RouteStatus, StopKind
from shared.schemas.optimization import RouteChange, StopChange
from tests.backend.optimization.test_dispatch_api import EAST, route_with
from tests.backend.optimization.test_optimizations_api import fleet
from tests.dispatcher_app.test_exceptions import client, signed_in
from tests.factories import Org

NINE = datetime(2031, 3, 14, 9, tzinfo=UTC)
__all__ = ["client"]  # the fixture: a client of the test server


def stop(stop_id: int, **fields: object) -> StopChange:
    values: dict[str, object] = {
        "stop_id": stop_id,
        "order_id": stop_id * 10,
        "reference": f"REF-{stop_id}",
        "recipient_name": "Rita",
        "kind": StopKind.DROPOFF,
        "address": "Monaco",
        "window_start": NINE,
        "window_end": NINE + timedelta(hours=1),
        "eta_before": NINE + timedelta(minutes=stop_id),
        "eta_after": NINE + timedelta(minutes=2 * stop_id),
        "late_before_s": None,
        "late_after_s": None,
        "locked": False,
        "added": False,
    }
    return StopChange.model_validate({**values, **fields})


def route(*stops: StopChange, removed: tuple[StopChange, ...] = ()) -> RouteChange:
    return RouteChange(
        route_id=4,
        driver_id=2,
        status=RouteStatus.IN_PROGRESS,
        stops=list(stops),
        removed=list(removed),
        drive_s_before=600,
        drive_s_after=900,
        late_before=0,
        late_after=1,
    )


def test_the_preview_reads_as_arrivals_before_and_after() -> None:
    change = route(
        stop(1, locked=True, eta_after=NINE),
        stop(2, added=True, eta_before=None),
        stop(3, late_after_s=1260),
        removed=(stop(5, eta_after=None),),
    )
    lines = stop_lines(change, tz=UTC, today=date(2031, 3, 14), editable=True)
    assert [line.number for line in lines] == ["1", "2", "3", ""]
    assert lines[0].eta == "09:00 · done or under way"
    assert lines[1].eta == "new · 09:04"
    assert lines[2].eta == "09:06 (was 09:03)"
    assert lines[2].late == "late by 21 min"
    assert lines[3].eta == "09:05 · leaves this route"
    assert lines[3].removed
    assert lines[1].label == "REF-2 · Rita · drop-off"
    assert lines[1].window == "09:00\N{EN DASH}10:00"
    # the stop under way stays put; the open ones move within themselves
    assert [(x.can_move_up, x.can_move_down) for x in lines] == [
        (False, False),
        (False, True),
        (True, False),
        (False, False),
    ]
    assert route_summary(change) == "3 stops · 1 (was 0) late · driving 15 min (was 10 min)"
    same = change.model_copy(
        update={"stops": change.stops[:1], "late_after": 0, "drive_s_after": 600}
    )
    assert route_summary(same) == "1 stop · 0 late · driving 10 min"
    read_only = stop_lines(change, tz=UTC, today=date(2031, 3, 14), editable=False)
    assert not any(x.can_move_up or x.can_move_down for x in read_only)


def test_moving_a_stop_swaps_it_with_its_neighbour_among_the_open_ones() -> None:
    change = route(stop(1, locked=True), stop(2), stop(3), stop(4))
    assert moved(change, 3, -1) == [3, 2, 4]
    assert moved(change, 3, +1) == [2, 4, 3]
    assert moved(change, 2, -1) is None  # first open stop: the one under way stays first
    assert moved(change, 4, +1) is None
    assert moved(change, 1, +1) is None  # done or under way
    assert moved(change, 99, +1) is None


async def test_orders_given_to_a_driver_are_previewed_reordered_then_published(
    org: Org, client: ApiClient
) -> None:
    await fleet(org)
    dora, dirk = org.driver_ids
    _, stops_a = await route_with(org, dora, [EAST[0], EAST[1]], "published")
    _, stops_b = await route_with(org, dirk, [EAST[2], EAST[3]], "published")
    app: DispatcherAppState = await signed_in(org, client)
    orders = (await client.list_orders(limit=50)).items
    [order_id] = [o.id for o in orders if o.stops[0].id == stops_a[1]]

    app.assign.start([order_id])
    assert app.assign.active
    assert app.assign.preview is None
    await app.assign.choose_driver(dirk)
    preview = app.assign.preview
    assert preview is not None
    assert not app.assign.loading
    assert app.assign.error is None
    [theirs] = [r for r in preview.routes if r.driver_id == dirk]
    shown = [s.stop_id for s in theirs.stops]
    assert sorted(shown) == sorted([*stops_b, stops_a[1]])

    # Move the first stop down: the preview follows, the server still has the old day.
    first = shown[0]
    await app.assign.move(dirk, first, +1)
    assert app.assign.preview is not None
    [theirs] = [r for r in app.assign.preview.routes if r.driver_id == dirk]
    assert [s.stop_id for s in theirs.stops] == [shown[1], first, *shown[2:]]
    assert (await client.get_order(order_id)).driver_id == dora

    assert await app.assign.publish()
    order = await client.get_order(order_id)
    assert (order.status, order.driver_id) == (OrderStatus.ASSIGNED, dirk)
    routes = (await client.list_routes(driver_id=dirk)).items
    assert [s.id for s in routes[0].stops] == [shown[1], first, *shown[2:]]
    assert not app.assign.can_publish  # published once
    # the grid shows the order with its new driver
    [row] = [o for o in app.orders.orders if o.id == order_id]
    assert row.driver_id == dirk

    app.assign.clear()
    assert not app.assign.active
    app.logout()
    await app.fleet.aclose()


async def test_a_refused_change_says_why_and_publishes_nothing(org: Org, client: ApiClient) -> None:
    await fleet(org)
    dora = org.driver_ids[0]
    _, stops = await route_with(org, dora, [EAST[0], EAST[1]], "in_progress")
    app = await signed_in(org, client)
    await app.assign.open_driver(dora)
    assert app.assign.preview is not None
    [mine] = app.assign.preview.routes
    assert [s.locked for s in mine.stops] == [True, False]  # being driven to: stays first

    app.assign.sequences[dora] = [stops[1], stops[0]]  # as a stale screen might ask
    await app.assign.refresh()
    assert app.assign.error is not None
    assert "keeps its place" in app.assign.error
    assert not await app.assign.publish()
    routes = (await client.list_routes(driver_id=dora)).items
    assert [s.id for s in routes[0].stops] == stops
    app.logout()
    await app.fleet.aclose()
