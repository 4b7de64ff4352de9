"""What the offline queue does with each answer, and how it tells the driver (pure)."""

from pathlib import Path

import httpx
import pytest

from driver_app.logic.actions import (
    ACTION,
    Action,
    FailureAction,
    ProofAction,
    ScanAction,
    TransitionAction,
)
from driver_app.logic.sync_policy import Verdict, refusal_message, verdict
from driver_app.services.outbox import ItemState, Outbox
from driver_app.state.sync import Step
from shared.api_client import ApiError, AuthError
from shared.enums import OrderStatus
from tests.driver_app.fakes import FakeClock, FakeServer, Link
from tests.driver_app.test_sync import sync_loop

TAKEN = ApiError(
    409,
    "no_longer_yours",
    "order 12 is no longer yours (now assigned, with another driver); nothing was recorded",
    {"status": "assigned"},
)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectError("down"), Verdict.RETRY),
        (httpx.ReadTimeout("slow"), Verdict.RETRY),
        (httpx.RemoteProtocolError("cut"), Verdict.RETRY),
        (ApiError(500, "internal", "boom"), Verdict.RETRY),
        (ApiError(503, "proof_storage_unavailable", "S3 away"), Verdict.RETRY),
        (ApiError(429, "too_many", "slow down"), Verdict.RETRY),
        (AuthError(401, "token_expired", "expired"), Verdict.REFRESH),
        (TAKEN, Verdict.CONFLICT),
        (ApiError(422, "invalid_proof", "missing photo"), Verdict.FAILED),
        (ApiError(404, "not_found", "order 3 not found"), Verdict.FAILED),
        (ApiError(403, "forbidden", "no"), Verdict.FAILED),
        (ApiError(413, "payload_too_large", "photos.0: too big"), Verdict.FAILED),
        (ValueError("an answer we cannot read"), Verdict.FAILED),
    ],
)
def test_each_answer_has_its_verdict(exc: Exception, expected: Verdict) -> None:
    assert verdict(exc) is expected


DELIVER = TransitionAction(order_id=12, to=OrderStatus.DELIVERED)


@pytest.mark.parametrize(
    ("action", "error", "message"),
    [
        (
            ProofAction(order_id=12),
            TAKEN,
            "Order REF-12 was reassigned to another driver; your delivery was not recorded.",
        ),
        (
            FailureAction(order_id=12, reason="not_home"),
            ApiError(
                409,
                "no_longer_yours",
                "order 12 is no longer yours (now cancelled, with no driver); nothing was recorded",
                {"status": "cancelled"},
            ),
            "Order REF-12 was cancelled; your failed-delivery report was not recorded.",
        ),
        (
            TransitionAction(order_id=12, to=OrderStatus.PICKED_UP),
            ApiError(
                409,
                "no_longer_yours",
                "order 12 is no longer yours (now rescheduled, with no driver); nothing was "
                "recorded",
                {"status": "rescheduled"},
            ),
            "Order REF-12 was rescheduled for another day; your change to \u201cPicked up\u201d "
            "was not recorded.",
        ),
        (
            ProofAction(order_id=12),
            ApiError(409, "already_delivered", "order 12 was already delivered (...)"),
            "Order REF-12 was already delivered; your delivery was not recorded.",
        ),
        (
            DELIVER,
            ApiError(
                409,
                "illegal_transition",
                "cannot move an order from 'failed' to 'delivered'",
                {"current": "failed", "requested": "delivered"},
            ),
            "Order REF-12 is already failed; your delivery was not recorded.",
        ),
        (
            ScanAction(order_id=12, codes=["PKG-9"]),
            ApiError(404, "not_found", "order 12 not found"),
            "Order REF-12 is no longer on your list; your scan was not recorded.",
        ),
        (
            ProofAction(order_id=12),
            ApiError(422, "invalid_proof", "missing proof of delivery: photo"),
            "Order REF-12: your delivery was not recorded. "
            "The server said: missing proof of delivery: photo",
        ),
    ],
)
def test_refusals_are_told_in_plain_words(action: Action, error: ApiError, message: str) -> None:
    assert refusal_message(action, "REF-12", error) == message


def test_without_a_reference_the_order_goes_by_its_number() -> None:
    assert refusal_message(DELIVER, None, TAKEN).startswith("Order 12 was reassigned")


async def test_a_refusal_after_a_lost_answer_is_final(tmp_path: Path) -> None:
    """The server answers a replay of a write it made with its first answer, even if the
    order was taken away since; so a 409 after a lost answer means nothing was recorded."""
    clock, server = FakeClock(), FakeServer()
    async with await Outbox.open(tmp_path / "queue.sqlite") as outbox:
        sync = sync_loop(outbox, Link(server), clock)
        client_id = await sync.submit(ProofAction(order_id=12), order_ref="REF-12")
        server.refuse[client_id] = ApiError(504, "gateway_timeout", "no answer upstream")
        assert await sync.step() is Step.BLOCKED
        server.refuse[client_id] = TAKEN
        assert await sync.step() is Step.SENT
        [conflict] = sync.conflicts
    assert conflict.state is ItemState.CONFLICT
    assert conflict.message == (
        "Order REF-12 was reassigned to another driver; your delivery was not recorded."
    )


@pytest.mark.parametrize(
    "action",
    [
        TransitionAction(order_id=1, to=OrderStatus.ARRIVING, lat=43.7, lng=7.4, reason="x"),
        ProofAction(order_id=2, recipient_name="Rita", barcodes=["A", "B"], pin="1234"),
        FailureAction(order_id=3, reason="other", note="dog"),
        ScanAction(order_id=4, codes=["PKG-1"]),
    ],
)
def test_actions_round_trip_through_the_queues_json(action: Action) -> None:
    assert ACTION.validate_json(action.model_dump_json()) == action
