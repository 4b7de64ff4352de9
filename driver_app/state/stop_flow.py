"""At a stop: arrive, scan, take the proof, done (or say why it could not be done).

Everything the driver does goes into the offline queue (``submit``, which returns once the
action is on the phone's disk): finishing a stop never waits for the network, and the next
stop comes up at once (``on_finished``). Reading a label from a photo is the one thing that
needs the server (``scan_label``); without signal the driver types the code, checked here
against the order's parcels.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

from app_kit.observable import Observable
from driver_app.logic.actions import (
    Action,
    FailureAction,
    Files,
    InvalidActionError,
    ProofAction,
    TransitionAction,
)
from driver_app.logic.signature_pad import (
    MAX_STROKES,
    Point,
    clamp_point,
    is_drawn,
    strokes_json,
    worth_adding,
)
from driver_app.logic.stop_flow import (
    MAX_PHOTOS,
    Draft,
    ParcelVerdict,
    Step,
    blocked_reason,
    check_parcel,
    failure_missing,
    failure_outcome,
    follow_up,
    has_pickup,
    is_pickup,
    missing,
    path_to,
    photo_problem,
    steps_for,
)
from driver_app.logic.stops import StopLine
from driver_app.services.label_reader import LabelUnreadableError, ScanLabel, WrongParcelError
from shared.enums import OrderStatus
from shared.failures import FailureReason, FollowUp

log = logging.getLogger(__name__)

S = OrderStatus


class Submit(Protocol):
    """``SyncLoop.submit``: queue an action (and its files); its client id."""

    def __call__(
        self, action: Action, files: Files | None = None, *, order_ref: str | None = None
    ) -> Awaitable[str]: ...


class StopFlow(Observable):
    """The driver's work at one stop (``line``), from arriving to done.

    For the view: ``steps``, ``status`` (the order's, with what is queued), ``blocked``
    (why nothing can be done), ``arrived``, ``scanned``, ``photos``, ``strokes``,
    ``recipient_name``, ``pin``, ``age_checked``, ``missing`` (plain words; empty when the
    stop can be finished), ``warning`` (a wrong parcel: loud), ``info``, ``busy``, ``error``,
    ``finished``; and the failure report: ``failing``, ``reason``, ``failure_note``,
    ``failure_photos``, ``follow_up``, ``failure_missing``.
    """

    def __init__(
        self,
        line: StopLine,
        *,
        submit: Submit,
        scan_label: ScanLabel,
        position: Callable[[], tuple[float, float] | None] = lambda: None,
        on_finished: Callable[[int, OrderStatus], None] = lambda order_id, status: None,
        on_close: Callable[[], None] = lambda: None,
        parcel_homes: Mapping[str, str] | None = None,
        follow_up_overrides: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.line = line
        self._submit = submit
        self._scan_label = scan_label
        self._position = position
        self._on_finished = on_finished
        self._on_close = on_close
        self._homes = dict(parcel_homes or {})
        self._overrides = dict(follow_up_overrides or {})
        order = line.order
        self.status: OrderStatus | None = order.status if order is not None else None
        self.recipient_name = order.recipient_name if order is not None else ""
        self.scanned: list[str] = []
        self.photos: list[bytes] = []
        self.strokes: list[list[Point]] = []
        # The pad's own notifier: a finger moving redraws the pad alone, not the whole
        # screen (redrawing it all on every pan event let a quick tap on "Delivered" run
        # before the last keystrokes of the name had arrived).
        self.pad = Observable()
        self.pin = ""
        self.age_checked = False
        self.warning: str | None = None
        self.info: str | None = None
        self.busy = False
        self.error: str | None = None
        self.finished = False
        self.failing = False
        self.reason: FailureReason | None = None
        self.failure_note = ""
        self.failure_photos: list[bytes] = []

    # --- what the view reads ------------------------------------------------------------
    @property
    def order_id(self) -> int:
        return self.line.stop.order_id

    @property
    def steps(self) -> list[Step]:
        return steps_for(self.line)

    @property
    def pickup(self) -> bool:
        return is_pickup(self.line)

    @property
    def blocked(self) -> str | None:
        return None if self.finished else blocked_reason(self.line, self.status)

    @property
    def arrived(self) -> bool:
        return self.status is S.ARRIVING or self.line.stop.actual_arrival_at is not None

    @property
    def signed(self) -> bool:
        return is_drawn(self.strokes)

    @property
    def draft(self) -> Draft:
        return Draft(
            scanned=tuple(self.scanned),
            photos=len(self.photos),
            signed=self.signed,
            recipient_name=self.recipient_name,
            pin=self.pin,
            age_checked=self.age_checked,
        )

    @property
    def missing(self) -> list[str]:
        return missing(self.line, self.draft)

    @property
    def can_complete(self) -> bool:
        return not (self.busy or self.finished or self.blocked or self.missing)

    @property
    def follow_up(self) -> FollowUp | None:
        return follow_up(self.reason, self._overrides) if self.reason is not None else None

    @property
    def failure_missing(self) -> list[str]:
        return failure_missing(
            self.reason, self.follow_up, self.failure_note, len(self.failure_photos)
        )

    @property
    def can_fail(self) -> bool:
        return not (self.busy or self.finished or self.blocked or self.failure_missing)

    # --- arriving and scanning ----------------------------------------------------------
    async def arrive(self) -> None:
        """The driver is at the door: the order goes to ``arriving`` (through ``en_route``
        when it is not on its way yet)."""
        if self.pickup or self.arrived or self.blocked or self.status is None:
            return
        await self._queue_path(S.ARRIVING, inclusive=True)

    def add_code(self, text: str) -> bool:
        """A code typed (or read): True when it is one of this stop's parcels."""
        order = self.line.order
        if order is None:
            return False
        check = check_parcel(text, order.barcodes, self.scanned, self._homes)
        if check.verdict is ParcelVerdict.WRONG:
            self.warning, self.info = check.message, None
        else:
            self.warning, self.info = None, check.message
        if check.verdict is ParcelVerdict.ACCEPTED:
            self.scanned.append(check.code)
        self.notify()
        return check.verdict in (ParcelVerdict.ACCEPTED, ParcelVerdict.ALREADY)

    async def scan_photo(self, image: bytes) -> None:
        """A photo of the label, read on the server; without signal the driver is told to
        type the code instead."""
        if self.busy:
            return
        self.busy, self.info, self.warning = True, "Reading the label…", None
        self.notify()
        try:
            codes = await self._scan_label(self.order_id, image)
        except WrongParcelError as exc:
            self.busy, self.info = False, None
            said = str(exc).removeprefix("wrong parcel: ").rstrip(".")
            self.warning = f"WRONG PARCEL: {said}. Keep it in the van."
            self.notify()
            return
        except LabelUnreadableError as exc:
            self.busy, self.info = False, str(exc)
            self.notify()
            return
        except Exception as exc:  # the view must not die of a scan
            log.exception("reading a label failed")
            self.busy, self.info = False, f"The label could not be read ({exc}): type the code."
            self.notify()
            return
        self.busy = False
        if not codes:
            self.info = "Nothing could be read: hold the label flat and closer, or type the code."
            self.notify()
            return
        for code in codes:  # the last wrong one stays on screen
            if not self.add_code(code) and self.warning:
                break

    def dismiss_warning(self) -> None:
        self.warning = None
        self.notify()

    # --- the proof ----------------------------------------------------------------------
    def add_photo(self, data: bytes) -> bool:
        """A photo of the delivery (at most five): False and ``error`` when refused."""
        return self._add_to(self.photos, data)

    def remove_photo(self, index: int) -> None:
        if 0 <= index < len(self.photos):
            del self.photos[index]
            self.notify()

    def start_stroke(self, x: float, y: float) -> None:
        """The finger touched the pad at (x, y), in the pad's pixels."""
        point = clamp_point(x, y)
        if point is None:
            return
        if len(self.strokes) >= MAX_STROKES:
            self.error = "The signature pad is full: clear it and sign again."
            self.notify()
            return
        was_signed = self.signed
        self.strokes.append([point])
        self.pad.notify()
        if self.signed != was_signed:
            self.notify()

    def extend(self, x: float, y: float) -> None:
        """The finger moved to (x, y) on the pad."""
        point = clamp_point(x, y)
        if point is None or not self.strokes:
            return
        stroke = self.strokes[-1]
        if worth_adding(stroke, point):
            was_signed = self.signed
            stroke.append(point)
            self.pad.notify()
            if self.signed != was_signed:
                self.notify()

    def clear_signature(self) -> None:
        self.strokes = []
        if self.error and "signature" in self.error:
            self.error = None
        self.pad.notify()
        self.notify()

    def _typed(self, apply: Callable[[], None]) -> None:
        """A keystroke: redraw only when it changes what the screen says (what is missing).
        A redraw per keystroke raced the field: the screen sent back the text as of the
        previous keystroke and the letter typed meanwhile was lost."""
        before = (self.missing, self.failure_missing)
        apply()
        if (self.missing, self.failure_missing) != before:
            self.notify()

    def set_name(self, name: str) -> None:
        self._typed(lambda: setattr(self, "recipient_name", name[:200]))

    def set_pin(self, pin: str) -> None:
        self._typed(lambda: setattr(self, "pin", pin.strip()[:8]))

    def set_age_checked(self, checked: bool) -> None:
        self.age_checked = checked
        self.notify()

    async def complete(self) -> bool:
        """Finish the stop: queue the transitions it takes and the proof (a pickup: the
        pickup). True when queued; ``error`` says why not."""
        if not self.can_complete or self.status is None:
            return False
        if self.pickup:
            return await self._finish([], S.PICKED_UP, inclusive=True)
        draft, signature = self.draft, strokes_json(self.strokes)
        proof = ProofAction(
            order_id=self.order_id,
            recipient_name=draft.recipient_name.strip() or None,
            signature=signature,
            barcodes=list(draft.scanned),
            pin=draft.pin or None,
            age_checked=draft.age_checked,
            **self._where(),
        )
        files: Files = {"photos": list(self.photos)} if self.photos else {}
        return await self._finish([(proof, files)], S.DELIVERED, inclusive=False)

    # --- a failed delivery ---------------------------------------------------------------
    def start_failure(self) -> None:
        self.failing, self.error = True, None
        self.notify()

    def choose_reason(self, reason: FailureReason) -> None:
        self.reason = reason
        self.notify()

    def set_failure_note(self, note: str) -> None:
        self._typed(lambda: setattr(self, "failure_note", note[:1000]))

    def add_failure_photo(self, data: bytes) -> bool:
        return self._add_to(self.failure_photos, data)

    def remove_failure_photo(self, index: int) -> None:
        if 0 <= index < len(self.failure_photos):
            del self.failure_photos[index]
            self.notify()

    async def fail(
        self,
        reason: FailureReason | None = None,
        note: str | None = None,
        photos: Sequence[bytes] | None = None,
    ) -> bool:
        """Report the stop as failed (the report being drafted, or what is given): queue the
        transitions it takes and the report. True when queued; ``error`` says why not."""
        if reason is not None:
            self.reason = reason
        if note is not None:
            self.failure_note = note[:1000]
        if photos is not None:
            self.failure_photos = list(photos)[:MAX_PHOTOS]
        chosen, follow = self.reason, self.follow_up
        if not self.can_fail or chosen is None or follow is None or self.status is None:
            self.notify()
            return False
        report = FailureAction(
            order_id=self.order_id, reason=chosen.value, note=self.failure_note, **self._where()
        )
        files: Files = {"photos": list(self.failure_photos)} if self.failure_photos else {}
        return await self._finish([(report, files)], failure_outcome(follow), inclusive=False)

    def close(self) -> None:
        """Leave the stop's screen (what is queued stays queued)."""
        self._on_close()

    def cancel(self) -> None:
        """Back out of the failure report; out of the stop when no report is open."""
        if self.failing:
            self.failing, self.reason, self.failure_note = False, None, ""
            self.failure_photos = []
            self.notify()
            return
        self._on_close()

    # --- internals -----------------------------------------------------------------------
    def _where(self) -> dict[str, float]:
        fix = self._position()
        return {"lat": fix[0], "lng": fix[1]} if fix is not None else {}

    def _add_to(self, photos: list[bytes], data: bytes) -> bool:
        problem = photo_problem(data)
        if problem is None and len(photos) >= MAX_PHOTOS:
            problem = f"At most {MAX_PHOTOS} photos."
        self.error = problem
        if problem is None:
            photos.append(data)
        self.notify()
        return problem is None

    def _transitions(self, target: OrderStatus, *, inclusive: bool) -> list[TransitionAction]:
        assert self.status is not None
        assert self.line.order is not None
        path = path_to(self.status, target, pickup=has_pickup(self.line.order))
        steps = path if inclusive else path[:-1]
        return [TransitionAction(order_id=self.order_id, to=s, **self._where()) for s in steps]

    async def _queue_path(self, target: OrderStatus, *, inclusive: bool) -> bool:
        moves = self._transitions(target, inclusive=inclusive)
        return await self._queue_all([(move, {}) for move in moves], target)

    async def _finish(
        self, last: list[tuple[Action, Files]], outcome: OrderStatus, *, inclusive: bool
    ) -> bool:
        try:
            moves = self._transitions(outcome, inclusive=inclusive)
        except ValueError as exc:
            self.error = f"This stop cannot be finished now: {exc}."
            self.notify()
            return False
        actions: list[tuple[Action, Files]] = [(move, {}) for move in moves]
        if not await self._queue_all([*actions, *last], outcome):
            return False
        self.finished, self.failing = True, False
        self.notify()
        self._on_finished(self.order_id, outcome)
        return True

    async def _queue_all(self, actions: list[tuple[Action, Files]], status: OrderStatus) -> bool:
        """Queue ``actions`` in order; the order's status becomes ``status`` once all are."""
        if self.busy:
            return False
        self.busy, self.error = True, None
        self.notify()
        reference = self.line.order.reference if self.line.order is not None else None
        try:
            for action, files in actions:
                await self._submit(action, files or None, order_ref=reference)
                if isinstance(action, TransitionAction):
                    self.status = action.to
        except InvalidActionError as exc:
            self.busy, self.error = False, f"This cannot be sent: {exc}."
            self.notify()
            return False
        except Exception as exc:  # the phone's storage failed
            log.exception("queueing a stop action failed")
            self.busy, self.error = False, f"Could not save this on the phone: {exc}"
            self.notify()
            return False
        self.status, self.busy = status, False
        self.notify()
        return True
