"""Failed deliveries: reasons, follow-ups, idempotent reports, over a real server."""

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.config import Settings
from backend.pod.failures import (
    DEFAULT_FOLLOW_UPS,
    FailureInputError,
    FailureReason,
    FollowUp,
    check_report,
    follow_up_for,
)
from tests.backend.pod.test_pod_api import en_route_order, jpeg, status_of
from tests.conftest import _new_org, make_settings
from tests.factories import Org
from tests.live_server import run_server


def test_every_reason_has_a_follow_up_and_overrides_win() -> None:
    assert set(DEFAULT_FOLLOW_UPS) == set(FailureReason)
    assert follow_up_for("not_home") == (FailureReason.NOT_HOME, FollowUp.REATTEMPT_TODAY)
    assert follow_up_for("not_home", {"not_home": "safe_place"})[1] is FollowUp.SAFE_PLACE
    with pytest.raises(FailureInputError, match="unknown 'lost_keys'; one of not_home"):
        follow_up_for("lost_keys")
    with pytest.raises(FailureInputError, match="note"):
        check_report(FailureReason.OTHER, FollowUp.NEXT_DAY, "  ", 0)
    with pytest.raises(FailureInputError, match="photo"):
        check_report(FailureReason.NOT_HOME, FollowUp.SAFE_PLACE, "", 0)


def test_unknown_reasons_or_follow_ups_in_the_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="failure_follow_ups"):
        Settings(failure_follow_ups={"not_home": "teleport"}, _env_file=None)
    with pytest.raises(ValueError, match="failure_follow_ups"):
        Settings(failure_follow_ups={"aliens": "next_day"}, _env_file=None)


async def fail(
    client: httpx.AsyncClient, order_id: int, reason: str, client_id: str | None = None, **kw: Any
) -> httpx.Response:
    photos = kw.pop("photos", [])
    data = {"client_id": client_id or uuid.uuid4().hex, "reason": reason, **kw}
    files = [("photos", ("p.jpg", p, "image/jpeg")) for p in photos] or None
    return await client.post(f"/api/v1/orders/{order_id}/failure", data=data, files=files)


async def timeline(org: Org, order_id: int) -> list[tuple[str | None, str | None, int | None]]:
    events = (await org.dispatcher.get(f"/api/v1/orders/{order_id}/events")).json()
    return [(e["from_status"], e["to_status"], e["actor_user_id"]) for e in events]


async def test_not_home_goes_back_to_the_driver_at_the_end_of_the_route(org: Org) -> None:
    order_id = await en_route_order(org)
    response = await fail(org.driver, order_id, "not_home", note="rang twice")
    assert response.status_code == 201, response.text
    assert response.json() == {
        "order_id": order_id,
        "status": "assigned",
        "reason": "not_home",
        "follow_up": "reattempt_today",
        "notice": "failed_reattempt_today",
        "replayed": False,
    }
    order = (await org.dispatcher.get(f"/api/v1/orders/{order_id}")).json()
    assert order["driver_id"] == org.driver_ids[0]
    steps = await timeline(org, order_id)
    assert steps[-2][:2] == ("en_route", "failed")
    assert steps[-2][2] is not None  # the driver
    assert steps[-1] == ("failed", "assigned", None)  # the platform's follow-up
    events = (await org.dispatcher.get(f"/api/v1/orders/{order_id}/events")).json()
    # Not on any route: back to the driver to plan, and the event says so.
    assert events[-1]["details"]["placed"] == "unrouted"
    assert events[-1]["details"]["why"] == "its drop-off is on no route"


async def test_wrong_address_is_rescheduled_and_refused_ones_stay_failed(org: Org) -> None:
    moved = await en_route_order(org)
    assert (await fail(org.driver, moved, "wrong_address")).json()["status"] == "rescheduled"
    order = (await org.dispatcher.get(f"/api/v1/orders/{moved}")).json()
    assert order["driver_id"] is None
    refused = await en_route_order(org)
    body = (await fail(org.driver, refused, "refused")).json()
    assert (body["status"], body["follow_up"]) == ("failed", "return_to_depot")


async def test_a_replayed_report_is_answered_once_and_conflicts_say_why(org: Org) -> None:
    order_id = await en_route_order(org)
    first = await fail(org.driver, order_id, "access_problem", client_id="queue-fail-0001")
    again = await fail(org.driver, order_id, "access_problem", client_id="queue-fail-0001")
    assert first.status_code == again.status_code == 201
    assert again.json() == {**first.json(), "replayed": True}
    failed = [s for s in await timeline(org, order_id) if s[1] == "failed"]
    assert len(failed) == 1
    cancelled = await en_route_order(org)
    await org.dispatcher.post(
        f"/api/v1/orders/{cancelled}/transitions", json={"to": "failed", "reason": "dispatch"}
    )
    late = await fail(org.driver, cancelled, "not_home")
    assert late.status_code == 409
    assert "nothing was recorded" in late.json()["error"]["message"]


async def test_bad_reports_are_refused_by_name_and_change_nothing(org: Org) -> None:
    order_id = await en_route_order(org)
    cases: dict[str, tuple[list[bytes], str]] = {
        "lost_keys": ([], "reason: unknown"),
        "other": ([], "note"),
        "refused": ([b"not a photo"], "photos.0"),
    }
    for reason, (photos, words) in cases.items():
        response = await fail(org.driver, order_id, reason, photos=photos)
        assert response.status_code == 422, response.text
        assert words in response.json()["error"]["message"]
    assert (await fail(org.driver2, order_id, "not_home")).status_code == 404
    assert (await fail(org.dispatcher, order_id, "not_home")).status_code == 403
    assert await status_of(org, order_id) == "en_route"


async def test_a_safe_place_delivers_with_the_photo_sealed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, failure_follow_ups={"not_home": "safe_place"})
    with run_server(settings) as url:
        async with _new_org(settings, url) as org:
            order_id = await en_route_order(org)
            no_photo = await fail(org.driver, order_id, "not_home")
            assert no_photo.status_code == 422
            assert "needs a photo" in no_photo.json()["error"]["message"]
            left = await fail(org.driver, order_id, "not_home", photos=[jpeg()])
            assert left.status_code == 201, left.text
            assert (left.json()["status"], left.json()["notice"]) == (
                "delivered",
                "delivered_safe_place",
            )
            events = (await org.dispatcher.get(f"/api/v1/orders/{order_id}/events")).json()
            failure = events[-1]["details"]["failure"]
            assert failure["reason"] == "not_home"
            assert sorted(failure["files"]) == [
                "failure-photo-1-display.jpg",
                "failure-photo-1.jpg",
            ]
            assert len(failure["seal"]["digest"]) == 64
            check = await org.dispatcher.get(f"/api/v1/orders/{order_id}/pod/verify")
            assert check.status_code == 200, check.text
            assert check.json()["intact"] is True
            assert check.json()["digest"] == failure["seal"]["digest"]


async def test_a_replay_after_reassignment_is_a_409_that_says_so(org: Org) -> None:
    order_id = await en_route_order(org)
    moved = await org.dispatcher.post(
        f"/api/v1/orders/{order_id}/transitions", json={"to": "failed", "reason": "swap"}
    )
    assert moved.status_code == 200, moved.text
    again = await org.dispatcher.post(
        f"/api/v1/orders/{order_id}/transitions",
        json={"to": "assigned", "driver_id": org.driver_ids[1]},
    )
    assert again.status_code == 200, again.text
    for path, data in (("failure", {"reason": "not_home"}), ("pod", {})):
        response = await org.driver.post(
            f"/api/v1/orders/{order_id}/{path}", data={"client_id": uuid.uuid4().hex, **data}
        )
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "no_longer_yours"
        assert "with another driver" in response.json()["error"]["message"]
    never_mine = await en_route_order(org)  # the first driver's; the second never had it
    response = await org.driver2.post(
        f"/api/v1/orders/{never_mine}/failure", data={"client_id": "x" * 10, "reason": "other"}
    )
    assert response.status_code == 404


async def test_the_exception_inbox_shows_failures_and_far_proofs_newest_first(org: Org) -> None:
    failed = await en_route_order(org)
    await fail(org.driver, failed, "damaged", note="box crushed")
    far = await en_route_order(org)
    response = await org.driver.post(
        f"/api/v1/orders/{far}/pod",
        data={"client_id": uuid.uuid4().hex, "lat": "43.76", "lng": "7.4276"},
        files={"photos": ("p.jpg", jpeg(), "image/jpeg")},
    )
    assert response.status_code == 201, response.text
    near = await en_route_order(org)
    fine = await org.driver.post(
        f"/api/v1/orders/{near}/pod",
        data={"client_id": uuid.uuid4().hex, "lat": "43.7402", "lng": "7.4276"},
    )
    assert fine.status_code == 201, fine.text
    inbox = (await org.dispatcher.get("/api/v1/exceptions")).json()
    assert [(i["kind"], i["order_id"]) for i in inbox] == [
        ("proof_far_from_address", far),
        ("failed_delivery", failed),
    ]
    assert inbox[1]["reason"] == "damaged"
    assert inbox[1]["follow_up"] == "return_to_depot"
    assert inbox[0]["distance_m"] > 2000
    assert (await org.driver.get("/api/v1/exceptions")).status_code == 403
