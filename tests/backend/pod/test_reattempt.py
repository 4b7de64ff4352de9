"""A same-day re-attempt goes back into the driver's running route through the live-insertion
optimiser, no sooner than the re-attempt delay, over a real server."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.backend.optimization.test_dispatch_api import EAST, dropoff, route_with
from tests.backend.optimization.test_optimizations_api import fleet
from tests.backend.pod.test_failures import fail
from tests.conftest import _new_org, make_settings
from tests.factories import Org
from tests.live_server import run_server

DONE = (43.7320, 7.4170)  # west of the line EAST: delivered before the others


async def move(org: Org, order_id: int, to: str) -> None:
    response = await org.driver.post(f"/api/v1/orders/{order_id}/transitions", json={"to": to})
    assert response.status_code == 200, response.text


async def day_in_progress(org: Org, window: dict[str, str] | None = None) -> dict[str, Any]:
    """Driver 0's route in progress along the harbour, out east and back west to the depot:
    the first stop delivered, the driver at the second (EAST[2]), then EAST[3], EAST[1],
    EAST[0]. ``window`` replaces the second one's."""
    await fleet(org)
    out_and_back = [DONE, EAST[2], EAST[3], EAST[1], EAST[0]]
    route_id, stops = await route_with(org, org.driver_ids[0], out_and_back, "in_progress")
    route = (await org.dispatcher.get(f"/api/v1/routes/{route_id}")).json()
    orders = [s["order_id"] for s in route["stops"]]
    await move(org, orders[0], "en_route")
    await move(org, orders[0], "delivered")
    if window is not None:
        changed = await org.dispatcher.patch(
            f"/api/v1/orders/{orders[1]}",
            json={"dropoff": {**dropoff(*EAST[2]), "time_window": window}},
        )
        assert changed.status_code == 200, changed.text
    await move(org, orders[1], "en_route")
    return {"route": route_id, "stops": stops, "orders": orders}


async def route_now(org: Org, route_id: int) -> list[dict[str, Any]]:
    route: dict[str, Any] = (await org.dispatcher.get(f"/api/v1/routes/{route_id}")).json()
    stops: list[dict[str, Any]] = route["stops"]
    return stops


async def last_event(org: Org, order_id: int) -> dict[str, Any]:
    events: list[dict[str, Any]] = (
        await org.dispatcher.get(f"/api/v1/orders/{order_id}/events")
    ).json()
    return events[-1]


@asynccontextmanager
async def server_with_delay(tmp_path: Path, minutes: float) -> AsyncIterator[Org]:
    """A backend whose re-attempts wait ``minutes``, and a fresh organisation on it."""
    settings = make_settings(tmp_path, reattempt_after_min=minutes)
    with run_server(settings) as url:
        async with _new_org(settings, url) as org:
            yield org


async def test_without_a_delay_the_reattempt_goes_where_it_adds_least(tmp_path: Path) -> None:
    async with server_with_delay(tmp_path, 0) as org:
        day = await day_in_progress(org)
        failed = day["orders"][1]
        response = await fail(org.driver, failed, "not_home")
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "assigned"
        done, here, driving_to, c, d = day["stops"]
        # The driver is on the way to the next stop, further east (locked); this one lies
        # on the way back west, right after it, not at the end of the day.
        assert [s["id"] for s in await route_now(org, day["route"])] == [
            done,
            driving_to,
            here,
            c,
            d,
        ]
        event = await last_event(org, failed)
        assert (event["from_status"], event["to_status"]) == ("failed", "assigned")
        assert event["details"]["placed"] == "optimised"


async def test_the_reattempt_is_not_planned_before_the_delay(tmp_path: Path) -> None:
    async with server_with_delay(tmp_path, 45) as org:
        day = await day_in_progress(org)
        failed = day["orders"][1]
        at = datetime.now(UTC)
        assert (await fail(org.driver, failed, "not_home")).status_code == 201
        stops = await route_now(org, day["route"])
        done, here, driving_to, c, d = day["stops"]
        # The stops ahead are minutes apart: visited after the last one, the driver waits
        # least for the delay to pass (waiting counts like driving).
        assert [s["id"] for s in stops] == [done, driving_to, c, d, here]
        planned = datetime.fromisoformat(stops[-1]["planned_arrival_at"])
        assert planned >= at + timedelta(minutes=45) - timedelta(seconds=5)
        assert (await last_event(org, failed))["details"]["placed"] == "optimised"


async def test_a_window_closing_before_the_delay_sends_it_to_the_end_and_says_why(
    tmp_path: Path,
) -> None:
    async with server_with_delay(tmp_path, 120) as org:
        now = datetime.now(UTC)
        closes = {
            "start": (now - timedelta(hours=1)).isoformat(),
            "end": (now + timedelta(minutes=30)).isoformat(),
        }
        day = await day_in_progress(org, window=closes)
        failed = day["orders"][1]
        assert (await fail(org.driver, failed, "not_home")).status_code == 201
        done, here, driving_to, c, d = day["stops"]
        assert [s["id"] for s in await route_now(org, day["route"])] == [
            done,
            driving_to,
            c,
            d,
            here,
        ]
        details = (await last_event(org, failed))["details"]
        assert details["placed"] == "end_of_route"
        assert details["why"] == "its delivery window closes before it may be served"
