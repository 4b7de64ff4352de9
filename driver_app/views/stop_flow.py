"""The screen at a stop: arrived, scan the parcels, the proof, done (or why it could not be
done). It renders :class:`~driver_app.state.stop_flow.StopFlow` and calls its methods."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import flet as ft

from app_kit.hooks import tagged, use_observable
from driver_app.logic.stop_flow import (
    FOLLOW_UP_TEXT,
    MAX_PHOTOS,
    REASON_LABELS,
    Step,
    is_pickup,
    scan_progress,
)
from driver_app.logic.stops import StopLine
from driver_app.state.stop_flow import StopFlow
from driver_app.views.camera import open_camera
from driver_app.views.signature_pad import signature_pad
from shared.failures import FailureReason

PickImages = Callable[[bool], Awaitable[list[bytes]]]


@dataclass(frozen=True)
class CameraButton:
    """Opens the camera for the label (read on the server) or for the delivery photo."""

    page: ft.Page

    def __call__(self, flow: StopFlow, purpose: str, label: str, identifier: str) -> ft.Control:
        async def taken(picture: bytes) -> None:
            if purpose == "label":
                await flow.scan_photo(picture)
            else:
                flow.add_photo(picture)

        async def opened() -> None:
            title = "Scan the label" if purpose == "label" else "Photo of the delivery"
            shutter = "Read the label" if purpose == "label" else "Take the photo"
            await open_camera(self.page, taken, title=title, shutter_label=shutter)

        return tagged(
            identifier,
            ft.OutlinedButton(label, icon=ft.Icons.CAMERA_ALT, disabled=flow.busy, on_click=opened),
        )


def stop_flow_button(line: StopLine, on_open: Callable[[StopLine], None]) -> ft.Control:
    """Under the next stop: opens the flow at this stop ("Deliver" or "Pick up")."""
    label = "Pick up" if is_pickup(line) else "At the stop: deliver"
    return tagged(
        "open-stop",
        ft.FilledButton(label, icon=ft.Icons.INVENTORY_2, on_click=lambda: on_open(line)),
    )


@dataclass
class _Picker:
    """The page's file picker, kept while the screen is open (a service lives as long as
    something holds it)."""

    picker: ft.FilePicker | None = None


def _use_image_picker() -> PickImages:
    """Picks images from the phone or the computer (the bytes, whatever the platform)."""
    holder = ft.use_ref(_Picker()).current
    assert holder is not None

    async def pick(many: bool) -> list[bytes]:
        if holder.picker is None:  # made on first use: a service joins the page at once
            holder.picker = ft.FilePicker()
        files = await holder.picker.pick_files(
            file_type=ft.FilePickerFileType.IMAGE, allow_multiple=many, with_data=True
        )
        return [f.bytes for f in files or [] if f.bytes]

    return pick


def _loud(identifier: str, text: str) -> ft.Control:
    return tagged(
        identifier,
        ft.Container(
            padding=16,
            border_radius=12,
            bgcolor=ft.Colors.RED_700,
            content=ft.Row(
                [
                    ft.Icon(ft.Icons.WARNING_AMBER, color=ft.Colors.WHITE, size=32),
                    ft.Text(
                        text, color=ft.Colors.WHITE, size=18, weight=ft.FontWeight.BOLD, expand=True
                    ),
                ]
            ),
        ),
    )


def _done_text(text: str) -> ft.Control:
    return ft.Row(
        [ft.Icon(ft.Icons.CHECK_CIRCLE, color=ft.Colors.PRIMARY, size=20), ft.Text(text)],
        spacing=6,
    )


def _section(title: str, *controls: ft.Control) -> ft.Control:
    return ft.Column([ft.Text(title, size=16, weight=ft.FontWeight.BOLD), *controls], spacing=8)


def _arrive(flow: StopFlow) -> ft.Control:
    if flow.arrived:
        return tagged("arrived", _done_text("Arrived"))
    return tagged(
        "arrive",
        ft.FilledButton(
            "Arrived", icon=ft.Icons.PIN_DROP, disabled=flow.busy, on_click=flow.arrive
        ),
    )


@dataclass
class _Typed:
    """What a field last reported. A ref, not state: handlers must read the latest
    keystrokes, which a closure captured at the last render may not have seen yet."""

    text: str = ""


@ft.component
def typed_field(
    identifier: str,
    value: str,
    on_change: Callable[[str], None],
    *,
    label: str,
    **options: Any,
) -> ft.Control:
    """A text field starting at ``value`` that reports each change. It shows what the field
    itself last reported (as the sign-in form does), never the state's reading of it: the
    state trims and caps, and sending that back on a keystroke would overwrite what the
    driver typed meanwhile."""
    typed = ft.use_ref(_Typed(value)).current
    assert typed is not None

    def changed(e: ft.Event[ft.TextField]) -> None:
        typed.text = e.control.value
        on_change(typed.text)

    return tagged(
        identifier, ft.TextField(label=label, value=typed.text, on_change=changed, **options)
    )


@ft.component
def code_entry(flow: StopFlow) -> ft.Control:
    """Typing a parcel's code (the fallback when no label can be read); the field empties
    when the code is one of this stop's parcels."""
    typed = ft.use_ref(_Typed()).current
    assert typed is not None
    fresh, set_fresh = ft.use_state(0)  # a new key: a new, empty field

    def changed(e: ft.Event[ft.TextField]) -> None:
        typed.text = e.control.value

    def add() -> None:
        if flow.add_code(typed.text):
            typed.text = ""
            set_fresh(fresh + 1)

    return ft.Row(
        [
            tagged(
                "scan-code-input",
                ft.TextField(
                    key=f"code-{fresh}",
                    label="Parcel code",
                    value=typed.text,
                    autofocus=fresh > 0,
                    on_change=changed,
                    on_submit=add,
                ),
                expand=True,
            ),
            tagged("scan-code-add", ft.FilledButton("Add", on_click=add)),
        ]
    )


def _scan(flow: StopFlow, pick: PickImages, camera: CameraButton) -> ft.Control:
    async def photo_of_label() -> None:
        images = await pick(False)
        if images:
            await flow.scan_photo(images[0])

    order = flow.line.order
    controls: list[ft.Control] = [
        code_entry(flow),
        tagged(
            "scan-photo",
            ft.OutlinedButton(
                "Photo of the label",
                icon=ft.Icons.QR_CODE_SCANNER,
                disabled=flow.busy,
                on_click=photo_of_label,
            ),
        ),
        camera(flow, "label", "Scan with the camera", "scan-camera"),
    ]
    if flow.warning:
        controls.insert(0, _loud("parcel-warning", flow.warning))
        controls.insert(
            1, tagged("parcel-warning-ok", ft.TextButton("OK", on_click=flow.dismiss_warning))
        )
    if flow.info:
        controls.append(tagged("scan-info", ft.Text(flow.info)))
    if order is not None:
        controls.append(tagged("parcels-scanned", ft.Text(scan_progress(order, flow.scanned))))
    return _section("Scan the parcels", *controls)


def _photos(flow: StopFlow, pick: PickImages, camera: CameraButton) -> ft.Control:
    async def add() -> None:
        for image in await pick(True):
            if not flow.add_photo(image):
                break

    count = len(flow.photos)
    return _section(
        "Photo of the delivery",
        ft.Row(
            [
                tagged(
                    "add-photo",
                    ft.FilledButton(
                        "Add photo",
                        icon=ft.Icons.PHOTO_CAMERA,
                        disabled=count >= MAX_PHOTOS,
                        on_click=add,
                    ),
                ),
                *([camera(flow, "photo", "Camera", "photo-camera")] if count < MAX_PHOTOS else []),
                tagged("photos-count", ft.Text(f"{count} photo{'s' * (count != 1)}")),
                *(
                    [
                        tagged(
                            "remove-photo",
                            ft.TextButton(
                                "Remove last", on_click=lambda: flow.remove_photo(count - 1)
                            ),
                        )
                    ]
                    if count
                    else []
                ),
            ],
            wrap=True,
        ),
    )


def _signature(flow: StopFlow) -> ft.Control:
    return _section(
        "Signature",
        signature_pad(flow),
        ft.Row(
            [
                ft.Container(
                    _done_text("Signed") if flow.signed else ft.Text("Sign above"), expand=True
                ),
                tagged("signature-clear", ft.TextButton("Clear", on_click=flow.clear_signature)),
            ]
        ),
        typed_field(
            "recipient-name",
            flow.recipient_name,
            flow.set_name,
            label="Name of the person who signed",
        ),
    )


def _pin(flow: StopFlow) -> ft.Control:
    return typed_field(
        "pin-input",
        flow.pin,
        flow.set_pin,
        label="Delivery PIN (ask the customer)",
        max_length=8,
        keyboard_type=ft.KeyboardType.NUMBER,
    )


def _age_check(flow: StopFlow) -> ft.Control:
    return tagged(
        "age-check",
        ft.Checkbox(
            label="I checked the recipient's ID: old enough",
            value=flow.age_checked,
            on_change=lambda e: flow.set_age_checked(bool(e.control.value)),
        ),
    )


def _missing(texts: list[str]) -> list[ft.Control]:
    if not texts:
        return []
    return [
        tagged(
            "stop-missing",
            ft.Column([ft.Text(f"• {t}", color=ft.Colors.ERROR) for t in texts], spacing=2),
        )
    ]


def _failure(flow: StopFlow, pick: PickImages) -> ft.Control:
    async def add() -> None:
        for image in await pick(True):
            if not flow.add_failure_photo(image):
                break

    def choice(reason: FailureReason) -> ft.Control:
        chosen = flow.reason is reason
        button = ft.FilledButton if chosen else ft.OutlinedButton
        return tagged(
            f"failure-reason-{reason.value}",
            button(REASON_LABELS[reason], on_click=lambda: flow.choose_reason(reason)),
        )

    async def confirm() -> None:
        await flow.fail()

    follow = flow.follow_up
    count = len(flow.failure_photos)
    return _section(
        "What went wrong?",
        tagged("failure-reason", ft.Column([choice(r) for r in FailureReason], spacing=6)),
        typed_field(
            "failure-note",
            flow.failure_note,
            flow.set_failure_note,
            label="What happened" + (" (required)" if flow.reason is FailureReason.OTHER else ""),
            multiline=True,
        ),
        ft.Row(
            [
                tagged(
                    "failure-add-photo",
                    ft.OutlinedButton(
                        "Add photo",
                        icon=ft.Icons.PHOTO_CAMERA,
                        disabled=count >= MAX_PHOTOS,
                        on_click=add,
                    ),
                ),
                tagged("failure-photos-count", ft.Text(f"{count} photo{'s' * (count != 1)}")),
            ]
        ),
        *(
            [tagged("failure-follow-up", ft.Text(FOLLOW_UP_TEXT[follow], size=16))]
            if follow is not None
            else []
        ),
        *_missing(flow.failure_missing if flow.reason is not None else []),
        ft.Row(
            [
                tagged(
                    "confirm-failure",
                    ft.FilledButton(
                        "Confirm",
                        style=ft.ButtonStyle(bgcolor=ft.Colors.ERROR, color=ft.Colors.ON_ERROR),
                        disabled=not flow.can_fail,
                        on_click=confirm,
                    ),
                ),
                tagged("failure-back", ft.TextButton("Back", on_click=flow.cancel)),
            ]
        ),
    )


def _header(flow: StopFlow) -> ft.Control:
    line, order = flow.line, flow.line.order
    kind = "Pickup" if flow.pickup else "Delivery"
    who = order.recipient_name if order is not None else ""
    texts: list[ft.Control] = [
        ft.Text(f"{kind} · {who}" if who else kind, weight=ft.FontWeight.BOLD),
        ft.Text(line.stop.address, size=20, weight=ft.FontWeight.BOLD),
    ]
    if order is not None and order.instructions:
        texts.append(tagged("stop-flow-instructions", ft.Text(order.instructions, italic=True)))
    return ft.Row(
        [
            ft.Column(texts, spacing=2, expand=True),
            tagged(
                "stop-flow-close",
                ft.IconButton(ft.Icons.CLOSE, tooltip="Close", on_click=flow.close),
            ),
        ],
        vertical_alignment=ft.CrossAxisAlignment.START,
    )


@ft.component
def stop_flow_view(flow: StopFlow) -> ft.Control:
    """The flow at one stop, from arriving to done."""
    use_observable(flow)
    pick = _use_image_picker()
    camera = CameraButton(ft.context.page)
    body: list[ft.Control] = [_header(flow)]
    if flow.error:
        body.append(tagged("stop-flow-error", ft.Text(flow.error, color=ft.Colors.ERROR)))
    if flow.busy:
        body.append(ft.ProgressBar())
    if flow.finished:
        body.append(tagged("stop-done", ft.Text("Done. On to the next stop.", size=18)))
    elif flow.blocked:
        body.append(tagged("stop-blocked", ft.Text(flow.blocked, size=16)))
    elif flow.failing:
        body.append(_failure(flow, pick))
    else:
        body += _steps(flow, pick, camera)
    return tagged(
        "stop-flow",
        ft.Container(padding=16, content=ft.Column(body, spacing=16, scroll=ft.ScrollMode.AUTO)),
        expand=True,
    )


def _steps(flow: StopFlow, pick: PickImages, camera: CameraButton) -> list[ft.Control]:
    sections: dict[Step, Callable[[], ft.Control]] = {
        Step.ARRIVE: lambda: _arrive(flow),
        Step.SCAN: lambda: _scan(flow, pick, camera),
        Step.PHOTO: lambda: _photos(flow, pick, camera),
        Step.SIGNATURE: lambda: _signature(flow),
        Step.PIN: lambda: _pin(flow),
        Step.AGE_CHECK: lambda: _age_check(flow),
    }
    controls = [sections[step]() for step in flow.steps if step in sections]
    done_label = "Picked up" if flow.pickup else "Delivered"
    controls += _missing(flow.missing)
    controls.append(
        ft.Row(
            [
                tagged(
                    "complete-stop",
                    ft.FilledButton(
                        done_label,
                        icon=ft.Icons.CHECK,
                        disabled=not flow.can_complete,
                        on_click=flow.complete,
                    ),
                ),
                tagged(
                    "fail-stop",
                    ft.OutlinedButton(
                        "Could not pick up" if flow.pickup else "Could not deliver",
                        disabled=flow.busy,
                        on_click=flow.start_failure,
                    ),
                ),
            ],
            wrap=True,
        )
    )
    return controls
