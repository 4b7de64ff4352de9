"""The "new order" panel: the fields, "Find address" with its candidates, a small map to
pin the address on, and the server's answer in words."""

import flet as ft
import flet_map as fm

from app_kit.hooks import tagged, use_observable
from dispatcher_app.logic.order_form import FORM_FIELDS
from dispatcher_app.state.app import DispatcherAppState
from dispatcher_app.state.order_create import CreateOrderState
from shared.order_import import LABELS, REQUIRED, OrderField

HINTS: dict[OrderField, str] = {
    OrderField.WINDOW_START: "YYYY-MM-DD HH:MM, local time",
    OrderField.WINDOW_END: "YYYY-MM-DD HH:MM, local time",
    OrderField.BARCODES: "separated by spaces",
}
WIDE = frozenset({OrderField.ADDRESS, OrderField.NOTES})
PINNED = frozenset({OrderField.LAT, OrderField.LNG})


def _field(form: CreateOrderState, key: OrderField) -> ft.Control:
    def typed(e: ft.Event[ft.TextField]) -> None:
        form.set_value(key, e.control.value)

    label = LABELS[key] + (" *" if key in REQUIRED else "")
    return tagged(
        f"order-create-{key.value.replace('_', '-')}",
        ft.TextField(
            label=label,
            value=form.values.get(key, ""),
            hint_text=HINTS.get(key),
            error=form.field_errors.get(key),
            on_change=typed,
            # Typed coordinates move the pin on the map once the field is left.
            on_blur=(lambda _: form.notify()) if key in PINNED else None,
            width=None if key in WIDE else 220,
            expand=key in WIDE,
        ),
        expand=key in WIDE,
    )


def _map(app: DispatcherAppState, form: CreateOrderState) -> ft.Control:
    """Click to pin: the lat/lon fields take the clicked point."""
    pinned = _pinned(form)
    center = pinned or _somewhere_known(app)

    def tapped(e: fm.MapTapEvent) -> None:
        form.pin(e.coordinates.latitude, e.coordinates.longitude)

    markers = (
        [
            fm.Marker(
                coordinates=fm.MapLatitudeLongitude(*pinned),
                content=ft.Icon(ft.Icons.LOCATION_PIN, color=ft.Colors.RED, size=32),
            )
        ]
        if pinned
        else []
    )
    return tagged(
        "order-create-map",
        ft.Container(
            height=260,
            border_radius=8,
            clip_behavior=ft.ClipBehavior.HARD_EDGE,
            content=fm.Map(
                key=f"{center}",
                initial_center=fm.MapLatitudeLongitude(*(center or (0.0, 0.0))),
                initial_zoom=15 if center else 2,
                on_tap=tapped,
                layers=[
                    fm.TileLayer(url_template=app.fleet.tile_url, max_native_zoom=18),
                    fm.MarkerLayer(markers=markers),
                ],
            ),
        ),
    )


def _pinned(form: CreateOrderState) -> tuple[float, float] | None:
    try:
        return float(form.values[OrderField.LAT]), float(form.values[OrderField.LNG])
    except (KeyError, ValueError):
        return None


def _somewhere_known(app: DispatcherAppState) -> tuple[float, float] | None:
    for depot in app.fleet.depots:
        return depot.lat, depot.lng
    for zone in app.fleet.zones:
        return zone.points[0]
    return None


def _candidates(form: CreateOrderState) -> ft.Control:
    return ft.Column(
        spacing=0,
        controls=[
            ft.Text("Choose the place:", weight=ft.FontWeight.BOLD),
            *(
                tagged(
                    "order-create-candidate",
                    ft.TextButton(
                        f"{c.address} ({c.lat:.5f}, {c.lon:.5f})",
                        on_click=lambda _, c=c: form.choose(c),
                    ),
                )
                for c in form.candidates
            ),
        ],
    )


@ft.component
def create_order_panel(app: DispatcherAppState) -> ft.Control:
    form = app.order_create
    use_observable(form)

    async def submit() -> None:
        await form.submit()

    by_key = {key: _field(form, key) for key in FORM_FIELDS}
    rows: list[ft.Control] = [
        ft.Text("New order", size=20, weight=ft.FontWeight.BOLD),
        ft.Row([by_key[OrderField.REFERENCE], by_key[OrderField.RECIPIENT_NAME]], wrap=True),
        ft.Row([by_key[OrderField.RECIPIENT_PHONE], by_key[OrderField.RECIPIENT_EMAIL]], wrap=True),
        ft.Row(
            [
                by_key[OrderField.ADDRESS],
                tagged(
                    "order-create-find",
                    ft.OutlinedButton(
                        "Find address",
                        icon=ft.Icons.TRAVEL_EXPLORE,
                        on_click=form.find_address,
                        disabled=form.busy,
                    ),
                ),
            ]
        ),
    ]
    if form.notice:
        rows.append(tagged("order-create-notice", ft.Text(form.notice, italic=True)))
    if form.candidates:
        rows.append(_candidates(form))
    rows += [
        ft.Row([by_key[OrderField.LAT], by_key[OrderField.LNG]], wrap=True),
        _map(app, form),
        ft.Row([by_key[OrderField.WINDOW_START], by_key[OrderField.WINDOW_END]], wrap=True),
        ft.Row([by_key[OrderField.WEIGHT_KG], by_key[OrderField.BARCODES]], wrap=True),
        ft.Row([by_key[OrderField.NOTES]]),
    ]
    if form.busy:
        rows.append(ft.ProgressBar())
    if form.error:
        rows.append(tagged("order-create-error", ft.Text(form.error, color=ft.Colors.ERROR)))
    rows.append(
        ft.Row(
            [
                tagged(
                    "order-create-submit",
                    ft.FilledButton("Create order", on_click=submit, disabled=form.busy),
                ),
                tagged("order-create-cancel", ft.TextButton("Cancel", on_click=form.close)),
            ]
        )
    )
    return tagged(
        "order-create-panel",
        ft.Column(rows, expand=True, scroll=ft.ScrollMode.AUTO, spacing=10),
        expand=True,
    )
