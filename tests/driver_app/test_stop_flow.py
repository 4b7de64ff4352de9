"""The flow at a stop: what it asks for, what it refuses, what it queues (fakes only; the
real queue and backend are in ``test_stop_flow_backend.py``)."""

import asyncio
import io
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from backend.pod.failures import FailureInputError, check_report
from backend.pod.signature import MAX_POINTS, MAX_STROKES, SignatureError, parse_strokes
from driver_app.logic.actions import (
    Action,
    FailureAction,
    Files,
    ProofAction,
    TransitionAction,
    check_action,
)
from driver_app.logic.signature_pad import is_drawn, strokes_json
from driver_app.logic.stop_flow import (
    FOLLOW_UP_TEXT,
    REASON_LABELS,
    Draft,
    ParcelVerdict,
    Step,
    check_parcel,
    failure_missing,
    follow_up,
    missing,
    parcel_homes,
    path_to,
    photo_problem,
    steps_for,
)
from driver_app.logic.stops import StopLine
from driver_app.services.label_reader import NO_SIGNAL, LabelUnreadableError, WrongParcelError
from driver_app.state.stop_flow import StopFlow
from shared.enums import OrderStatus, StopKind
from shared.failures import DEFAULT_FOLLOW_UPS, FailureReason, FollowUp
from shared.lifecycle import DRIVER_TARGETS, check_transition
from shared.schemas.orders import OrderOut, StopOut

S = OrderStatus
T0 = datetime(2031, 3, 14, 8, 0, tzinfo=UTC)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(out, "JPEG")
    return out.getvalue()


def stop_out(order_id: int, kind: StopKind = StopKind.DROPOFF, **extra: Any) -> StopOut:
    values: dict[str, Any] = {
        "id": order_id * 10 + (kind is StopKind.PICKUP),
        "order_id": order_id,
        "kind": kind,
        "address": f"{order_id} Rue Grimaldi",
        "lat": 43.73,
        "lng": 7.42,
        "window_start": None,
        "window_end": None,
        "service_time_s": 120,
        "route_id": 1,
        "sequence": 1,
        "planned_arrival_at": None,
        "actual_arrival_at": None,
        "actual_departure_at": None,
    }
    return StopOut.model_validate(values | extra)


def order_out(
    order_id: int = 7,
    status: OrderStatus = S.EN_ROUTE,
    proofs: Sequence[str] = (),
    barcodes: Sequence[str] = (),
    *,
    pickup: bool = False,
) -> OrderOut:
    stops = [stop_out(order_id)]
    if pickup:
        stops.insert(0, stop_out(order_id, StopKind.PICKUP))
    return OrderOut.model_validate(
        {
            "id": order_id,
            "org_id": 1,
            "reference": f"REF-{order_id}",
            "status": status,
            "recipient_name": "Rita Recipient",
            "recipient_phone": None,
            "recipient_email": None,
            "weight_kg": 1.0,
            "volume_m3": 0.01,
            "priority": 0,
            "required_proofs": list(proofs),
            "notes": "",
            "instructions": "Ring twice",
            "driver_id": 3,
            "barcodes": list(barcodes),
            "stops": [s.model_dump() for s in stops],
            "created_at": T0,
            "updated_at": T0,
        }
    )


def line_for(order: OrderOut, kind: StopKind = StopKind.DROPOFF) -> StopLine:
    stop = next(s for s in order.stops if s.kind is kind)
    return StopLine(stop, 1, order)


class Queue:
    """``SyncLoop.submit`` as the flow sees it: checks the action as the outbox does."""

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.items: list[tuple[Action, Files, str | None]] = []
        self.fail_with = fail_with

    async def __call__(
        self, action: Action, files: Files | None = None, *, order_ref: str | None = None
    ) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        check_action(action, files or {})
        self.items.append((action, files or {}, order_ref))
        return f"client-{len(self.items)}"

    @property
    def actions(self) -> list[Action]:
        return [action for action, _, _ in self.items]


class Labels:
    """The server's label reader: codes per image, or an error."""

    def __init__(self, answer: list[str] | Exception) -> None:
        self.answer = answer
        self.calls: list[tuple[int, bytes]] = []

    async def __call__(self, order_id: int, image: bytes) -> list[str]:
        self.calls.append((order_id, image))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def flow_for(
    order: OrderOut,
    queue: Queue | None = None,
    labels: Labels | None = None,
    kind: StopKind = StopKind.DROPOFF,
    **kwargs: Any,
) -> tuple[StopFlow, Queue, list[tuple[int, OrderStatus]]]:
    queue = queue or Queue()
    finished: list[tuple[int, OrderStatus]] = []
    flow = StopFlow(
        line_for(order, kind),
        submit=queue,
        scan_label=labels or Labels([]),
        position=lambda: (43.7402, 7.4276),
        on_finished=lambda order_id, status: finished.append((order_id, status)),
        **kwargs,
    )
    return flow, queue, finished


SIGNATURE = [[(10.0, 10.0), (60.0, 40.0), (120.0, 15.0)]]


def sign(flow: StopFlow, strokes: Sequence[Sequence[tuple[float, float]]] = SIGNATURE) -> None:
    for stroke in strokes:
        flow.start_stroke(*stroke[0])
        for x, y in stroke[1:]:
            flow.extend(x, y)


# --- what the stop asks for --------------------------------------------------------------
def test_a_dropoff_asks_for_each_required_proof_and_a_pickup_only_to_confirm() -> None:
    order = order_out(proofs=["signature", "photo", "pin"], barcodes=["P1"], pickup=True)
    assert steps_for(line_for(order)) == [
        Step.ARRIVE,
        Step.SCAN,
        Step.PHOTO,
        Step.SIGNATURE,
        Step.PIN,
    ]
    assert steps_for(line_for(order, StopKind.PICKUP)) == [Step.SCAN, Step.CONFIRM_PICKUP]
    assert steps_for(line_for(order_out())) == [Step.ARRIVE]


def test_what_is_missing_is_said_in_plain_words_until_it_is_there() -> None:
    line = line_for(order_out(proofs=["photo", "signature", "barcode", "pin", "age_check"],
                              barcodes=["P1", "P2"]))  # fmt: skip
    assert missing(line, Draft()) == [
        "Scan every parcel (0 of 2 parcels scanned).",
        "Take a photo of the parcel at the door.",
        "Get the recipient's signature.",
        "Enter the PIN the customer gives you.",
        "Check the recipient's ID (age check).",
    ]
    signed_nameless = Draft(scanned=("P1",), photos=1, signed=True, pin="1234", age_checked=True)
    assert missing(line, signed_nameless) == [
        "Scan every parcel (1 of 2 parcels scanned).",
        "Write the name of the person who signed.",
    ]
    done = Draft(("P2", "P1"), 1, True, "Rita", "1234", True)
    assert missing(line, done) == []


def test_a_barcode_proof_without_parcels_cannot_be_met_and_says_so() -> None:
    line = line_for(order_out(proofs=["barcode"]))
    assert missing(line, Draft()) == [
        "This order needs a parcel scan but lists no parcels: call dispatch."
    ]


def test_a_signature_drawn_but_not_required_still_needs_the_signers_name() -> None:
    # the server refuses a signature without a name, required or not
    assert missing(line_for(order_out()), Draft(signed=True)) == [
        "Write the name of the person who signed."
    ]


# --- parcels -----------------------------------------------------------------------------
def test_typed_codes_are_checked_against_this_stops_parcels() -> None:
    parcels = ["PKG-0001", "PKG-0002"]
    ok = check_parcel(" pkg 0001 ", parcels, [])
    assert (ok.verdict, ok.code, ok.loud) == (ParcelVerdict.ACCEPTED, "PKG-0001", False)
    assert ok.message == "PKG-0001 OK (1 of 2 parcels scanned)."
    again = check_parcel("PKG-0001", parcels, ["PKG-0001"])
    assert again.verdict is ParcelVerdict.ALREADY
    assert "already scanned" in again.message
    wrong = check_parcel("PKG-0999", parcels, [], {"PKG-0999": "stop 4 (9 Rue Basse)"})
    assert wrong.loud
    assert wrong.message == (
        "WRONG PARCEL: PKG-0999 is not for this stop. It goes to stop 4 (9 Rue Basse). "
        "Keep it in the van."
    )
    assert check_parcel("  ", parcels, []).verdict is ParcelVerdict.EMPTY


def test_parcel_homes_name_the_dropoff_stop_of_each_parcel() -> None:
    a, b = order_out(1, barcodes=["A1"], pickup=True), order_out(2, barcodes=["B1", "B2"])
    lines = [line_for(a, StopKind.PICKUP), line_for(a), line_for(b)]
    assert parcel_homes(lines) == {
        "A1": "stop 2 (1 Rue Grimaldi)",
        "B1": "stop 3 (2 Rue Grimaldi)",
        "B2": "stop 3 (2 Rue Grimaldi)",
    }


# --- the lifecycle -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("current", "target", "pickup", "expected"),
    [
        (S.EN_ROUTE, S.ARRIVING, False, [S.ARRIVING]),
        (S.ASSIGNED, S.ARRIVING, False, [S.EN_ROUTE, S.ARRIVING]),
        (S.PICKED_UP, S.DELIVERED, True, [S.EN_ROUTE, S.DELIVERED]),
        (S.ARRIVING, S.DELIVERED, False, [S.DELIVERED]),
        (S.ASSIGNED, S.PICKED_UP, True, [S.EN_ROUTE_TO_PICKUP, S.PICKED_UP]),
        (S.ASSIGNED, S.FAILED, False, [S.EN_ROUTE, S.FAILED]),
        (S.ARRIVING, S.ARRIVING, False, []),
    ],
)
def test_the_path_to_a_status_goes_through_what_the_lifecycle_requires(
    current: OrderStatus, target: OrderStatus, pickup: bool, expected: list[OrderStatus]
) -> None:
    path = path_to(current, target, pickup=pickup)
    assert path == expected
    for before, after in zip([current, *path], path, strict=False):
        check_transition(before, after, has_pickup=pickup)  # every step is legal
        assert after in DRIVER_TARGETS


def test_no_path_where_a_driver_cannot_go() -> None:
    with pytest.raises(ValueError, match="cannot take an order"):
        path_to(S.DELIVERED, S.FAILED, pickup=False)
    with pytest.raises(ValueError, match="cannot take an order"):
        path_to(S.CREATED, S.ARRIVING, pickup=False)  # assigning is dispatch's call


# --- failures ------------------------------------------------------------------------------
def test_every_reason_has_a_label_and_its_follow_up_is_told_before_confirming() -> None:
    assert set(REASON_LABELS) == set(FailureReason)
    assert set(FOLLOW_UP_TEXT) == set(FollowUp)
    assert FOLLOW_UP_TEXT[follow_up(FailureReason.NOT_HOME)].startswith(
        "We'll try again later today"
    )
    assert FOLLOW_UP_TEXT[follow_up(FailureReason.WRONG_ADDRESS)].startswith("Rescheduled")
    assert follow_up(FailureReason.NOT_HOME, {"not_home": "safe_place"}) is FollowUp.SAFE_PLACE


@pytest.mark.parametrize("reason", list(FailureReason))
@pytest.mark.parametrize("follow", list(FollowUp))
@pytest.mark.parametrize(("note", "photos"), [("", 0), ("  ", 1), ("gate locked", 0)])
def test_the_failure_form_asks_for_what_the_server_requires(
    reason: FailureReason, follow: FollowUp, note: str, photos: int
) -> None:
    needed = failure_missing(reason, follow, note, photos)
    try:
        check_report(reason, follow, note, photos)
    except FailureInputError:
        assert needed
    else:
        assert needed == []


def test_backend_and_app_share_the_reasons_and_defaults() -> None:
    from backend.pod import failures

    assert failures.FailureReason is FailureReason
    assert failures.DEFAULT_FOLLOW_UPS is DEFAULT_FOLLOW_UPS


# --- photos and signatures -----------------------------------------------------------------
def test_a_file_that_is_not_a_photo_is_refused_before_it_is_queued() -> None:
    assert photo_problem(jpeg()) is None
    assert photo_problem(b"%PDF-1.7 ...") == "That file is not a photo (JPEG, PNG or WebP)."
    assert photo_problem(b"") == "That file is empty."


def test_strokes_are_cleaned_into_what_the_server_takes() -> None:
    text = strokes_json([[], [(10.04, -3.0), (60.0, 40.0)], [(1e9, math.nan), (30.0, 20.0)]])
    assert text is not None
    assert json.loads(text) == [[[10.0, 0.0], [60.0, 40.0]], [[30.0, 20.0]]]
    assert parse_strokes(text).points == 3
    assert strokes_json([[(10.0, 10.0)]]) is None  # a dot
    assert strokes_json([[(10.0, 10.0), (12.0, 11.0)]]) is None  # a smudge
    assert strokes_json([]) is None


def test_a_long_signature_is_thinned_to_the_servers_limits() -> None:
    strokes = [[(float(i % 300), float(s)) for i in range(400)] for s in range(60)]
    text = strokes_json(strokes)
    assert text is not None
    parsed = parse_strokes(text)
    assert len(parsed.strokes) == MAX_STROKES
    assert MAX_POINTS - MAX_STROKES < parsed.points <= MAX_POINTS
    assert parsed.strokes[0][0] == (0.0, 0.0)
    assert parsed.strokes[0][-1] == (99.0, 0.0)


# Anything the pad may report, with many tiny drawings (around the "a dot" threshold).
coordinate = (
    st.floats(allow_nan=True, allow_infinity=True, width=32) | st.floats(-50, 500) | st.floats(0, 7)
)
strokes_strategy = st.lists(st.lists(st.tuples(coordinate, coordinate), max_size=80), max_size=70)


@settings(max_examples=300, deadline=None)
@given(strokes_strategy)
@example([[(10.0, 10.0), (14.96, 10.0)]])  # 4.96 px across: 5.0 once rounded, a signature
@example([[(10.0, 10.0), (14.94, 10.0)]])  # 4.9 once rounded: a dot
@example([[(0.0, 0.0)] for _ in range(MAX_STROKES)] + [[(0.0, 0.0), (90.0, 40.0)]])  # cut off
def test_whatever_is_drawn_the_server_accepts_it_or_nothing_is_sent(
    strokes: list[list[tuple[float, float]]],
) -> None:
    text = strokes_json(strokes)
    if text is None:
        assert not is_drawn(strokes)
        return
    assert len(text) <= 100_000  # the form field's limit
    parse_strokes(text)  # raises SignatureError when refused


def test_the_servers_parser_refuses_what_the_app_never_sends() -> None:
    # the property above is only worth something if the parser can refuse
    with pytest.raises(SignatureError):
        parse_strokes(json.dumps([[[10, 10]], []]))


# --- the state: a delivery -----------------------------------------------------------------
async def test_arriving_queues_en_route_then_arriving_and_shows_arrived() -> None:
    flow, queue, _ = flow_for(order_out(status=S.ASSIGNED))
    assert not flow.arrived
    await flow.arrive()
    assert [a.to for a in queue.actions if isinstance(a, TransitionAction)] == [
        S.EN_ROUTE,
        S.ARRIVING,
    ]
    assert all(ref == "REF-7" for _, _, ref in queue.items)
    assert flow.arrived
    assert flow.status is S.ARRIVING
    await flow.arrive()  # a second tap queues nothing
    assert len(queue.items) == 2


async def test_a_delivery_with_every_proof_is_queued_and_the_next_stop_comes_up() -> None:
    order = order_out(proofs=["photo", "signature", "barcode", "pin"], barcodes=["P1", "P2"])
    flow, queue, finished = flow_for(order)
    assert not flow.can_complete
    assert await flow.complete() is False
    assert queue.items == []

    assert flow.add_code("p1")
    assert flow.add_code("P2 ")
    assert flow.add_photo(jpeg())
    sign(flow)
    flow.set_name("Bob Neighbour")
    flow.set_pin(" 4821 ")
    assert flow.missing == []

    assert await flow.complete() is True
    [(proof, files, ref)] = queue.items
    assert isinstance(proof, ProofAction)
    assert ref == "REF-7"
    assert proof.barcodes == ["P1", "P2"]
    assert proof.recipient_name == "Bob Neighbour"
    assert proof.pin == "4821"
    assert proof.signature is not None
    assert parse_strokes(proof.signature).points == 3
    assert (proof.lat, proof.lng) == (43.7402, 7.4276)
    assert files == {"photos": [jpeg()]}
    assert finished == [(7, S.DELIVERED)]
    assert flow.finished
    assert not flow.can_complete
    assert await flow.complete() is False  # a second tap sends nothing more
    assert len(queue.items) == 1


async def test_a_delivery_not_yet_on_its_way_goes_en_route_first() -> None:
    flow, queue, finished = flow_for(order_out(status=S.PICKED_UP, pickup=True))
    assert await flow.complete()
    assert [type(a).__name__ for a in queue.actions] == ["TransitionAction", "ProofAction"]
    first = queue.actions[0]
    assert isinstance(first, TransitionAction)
    assert first.to is S.EN_ROUTE
    assert finished == [(7, S.DELIVERED)]


async def test_a_wrong_parcel_is_warned_loudly_and_not_counted() -> None:
    flow, _, _ = flow_for(order_out(barcodes=["P1"]), parcel_homes={"Q9": "stop 5 (5 Rue X)"})
    assert not flow.add_code("Q9")
    assert flow.warning is not None
    assert flow.warning.startswith("WRONG PARCEL: Q9 is not for this stop. It goes to stop 5")
    assert flow.scanned == []
    assert flow.add_code("P1")
    assert flow.warning is None  # the next good scan clears it
    assert flow.scanned == ["P1"]


async def test_a_label_photo_is_read_on_the_server_and_counted() -> None:
    labels = Labels(["P2"])
    flow, _, _ = flow_for(order_out(barcodes=["P1", "P2"]), labels=labels)
    await flow.scan_photo(b"label")
    assert labels.calls == [(7, b"label")]
    assert flow.scanned == ["P2"]
    assert flow.info == "P2 OK (1 of 2 parcels scanned)."
    assert not flow.busy


async def test_a_label_of_another_order_read_on_the_server_is_a_loud_warning() -> None:
    message = "wrong parcel: Q9 belongs to order 12, not to order 7"
    flow, _, _ = flow_for(order_out(barcodes=["P1"]), labels=Labels(WrongParcelError(message)))
    await flow.scan_photo(b"label")
    assert flow.warning == (
        "WRONG PARCEL: Q9 belongs to order 12, not to order 7. Keep it in the van."
    )
    assert flow.scanned == []


async def test_without_signal_the_driver_is_told_to_type_and_typing_works() -> None:
    labels = Labels(LabelUnreadableError(NO_SIGNAL))
    flow, queue, _ = flow_for(order_out(proofs=["barcode"], barcodes=["P1"]), labels=labels)
    await flow.scan_photo(b"label")
    assert flow.info == NO_SIGNAL
    assert not flow.busy
    assert flow.add_code("P1")
    assert await flow.complete()
    [proof] = queue.actions
    assert isinstance(proof, ProofAction)
    assert proof.barcodes == ["P1"]


async def test_while_a_label_is_read_slowly_the_driver_can_type_the_code() -> None:
    release = asyncio.Event()

    async def slow_reader(order_id: int, image: bytes) -> list[str]:
        await release.wait()
        return ["P1"]

    flow = StopFlow(line_for(order_out(barcodes=["P1"])), submit=Queue(), scan_label=slow_reader)
    scanning = asyncio.create_task(flow.scan_photo(b"label"))
    await asyncio.sleep(0)
    assert flow.busy
    assert flow.info == "Reading the label…"
    assert flow.add_code("P1")  # typing does not wait for the network
    release.set()
    await scanning
    assert not flow.busy
    assert flow.scanned == ["P1"]
    assert flow.info == "P1 was already scanned (1 of 1 parcels scanned)."


async def test_a_queue_that_cannot_write_says_so_and_the_stop_stays_open() -> None:
    flow, _, finished = flow_for(order_out(), queue=Queue(OSError("disk full")))
    assert await flow.complete() is False
    assert flow.error == "Could not save this on the phone: disk full"
    assert finished == []
    assert not flow.finished
    assert not flow.busy


async def test_photos_are_capped_and_files_that_are_not_photos_refused() -> None:
    flow, _, _ = flow_for(order_out(proofs=["photo"]))
    assert not flow.add_photo(b"not a photo")
    assert flow.error == "That file is not a photo (JPEG, PNG or WebP)."
    for _ in range(5):
        assert flow.add_photo(jpeg())
    assert not flow.add_photo(jpeg())
    assert flow.error == "At most 5 photos."
    flow.remove_photo(0)
    assert len(flow.photos) == 4


async def test_the_signature_pad_keeps_strokes_and_clears() -> None:
    flow, _, _ = flow_for(order_out(proofs=["signature"]))
    flow.start_stroke(10, 10)
    flow.extend(10.5, 10.2)  # under a pixel and a half from the last: nothing new
    flow.extend(40, 30)
    assert flow.strokes == [[(10.0, 10.0), (40.0, 30.0)]]
    assert flow.signed
    flow.clear_signature()
    assert flow.strokes == []
    assert not flow.signed
    assert flow.missing == ["Get the recipient's signature."]


async def test_a_finished_or_foreign_stop_offers_nothing() -> None:
    flow, queue, _ = flow_for(order_out(status=S.DELIVERED))
    assert flow.blocked == "This stop is already finished."
    assert not await flow.complete()
    await flow.arrive()
    assert queue.items == []
    pickup_first, _, _ = flow_for(order_out(status=S.ASSIGNED, pickup=True))
    assert pickup_first.blocked == "Pick the parcel up first: its pickup stop is not done."


# --- the state: a pickup -------------------------------------------------------------------
async def test_confirming_a_pickup_queues_the_way_to_picked_up() -> None:
    order = order_out(status=S.ASSIGNED, proofs=["barcode"], barcodes=["P1"], pickup=True)
    flow, queue, finished = flow_for(order, kind=StopKind.PICKUP)
    assert flow.missing == ["Scan every parcel (0 of 1 parcels scanned)."]
    flow.add_code("P1")
    assert await flow.complete()
    assert [a.to for a in queue.actions if isinstance(a, TransitionAction)] == [
        S.EN_ROUTE_TO_PICKUP,
        S.PICKED_UP,
    ]
    assert finished == [(7, S.PICKED_UP)]


# --- the state: a failed delivery ----------------------------------------------------------
async def test_a_failure_tells_the_follow_up_then_queues_the_report() -> None:
    flow, queue, finished = flow_for(order_out(status=S.ARRIVING))
    flow.start_failure()
    assert flow.failure_missing == ["Choose what went wrong."]
    flow.choose_reason(FailureReason.NOT_HOME)
    assert flow.follow_up is FollowUp.REATTEMPT_TODAY
    assert flow.can_fail
    assert await flow.fail()
    [(report, files, _)] = queue.items
    assert isinstance(report, FailureAction)
    assert (report.reason, report.note, files) == ("not_home", "", {})
    assert finished == [(7, S.FAILED)]


async def test_other_needs_a_note_and_a_safe_place_a_photo() -> None:
    flow, queue, _ = flow_for(order_out(), follow_up_overrides={"access_problem": "safe_place"})
    flow.start_failure()
    assert not await flow.fail(FailureReason.OTHER)
    assert flow.failure_missing == ["Say what happened."]
    assert queue.items == []
    flow.choose_reason(FailureReason.ACCESS_PROBLEM)
    assert flow.failure_missing == ["Take a photo of where you left the parcel."]
    assert flow.add_failure_photo(jpeg())
    assert await flow.fail()
    [(report, files, _)] = queue.items
    assert isinstance(report, FailureAction)
    assert files == {"photos": [jpeg()]}


async def test_a_safe_place_counts_as_delivered() -> None:
    flow, _, finished = flow_for(order_out(), follow_up_overrides={"not_home": "safe_place"})
    assert await flow.fail(FailureReason.NOT_HOME, photos=[jpeg()])
    assert finished == [(7, S.DELIVERED)]


async def test_backing_out_of_a_failure_keeps_the_stop_and_queues_nothing() -> None:
    closed: list[bool] = []
    flow, queue, _ = flow_for(order_out(), on_close=lambda: closed.append(True))
    flow.start_failure()
    flow.choose_reason(FailureReason.REFUSED)
    flow.cancel()
    assert not flow.failing
    assert flow.reason is None
    assert closed == []
    flow.cancel()
    assert closed == [True]
    assert queue.items == []
