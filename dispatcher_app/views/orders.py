"""The orders grid: its filters, the ticks for bulk actions, "load more", and the doors to
creating an order and importing a CSV."""

import flet as ft

from app_kit.hooks import tagged, use_observable
from dispatcher_app.logic.order_filters import selection_label
from dispatcher_app.logic.orders import OrderRow, order_row
from dispatcher_app.state.app import DispatcherAppState
from dispatcher_app.state.orders import OrdersState
from dispatcher_app.views.assign import assign_toolbar
from dispatcher_app.views.order_create import create_order_panel
from dispatcher_app.views.order_filters import filters
from dispatcher_app.views.order_import import import_panel

# (heading, width in logical pixels; None takes the remaining room)
COLUMNS: tuple[tuple[str, int | None], ...] = (
    ("Reference", 100),
    ("Recipient", 140),
    ("Address", None),
    ("Window", 150),
    ("Status", 110),
    ("Driver", 130),
)
TICK_WIDTH = 40


def _cells(values: tuple[str, ...], *, bold: bool = False) -> list[ft.Control]:
    return [
        ft.Text(
            value,
            width=width,
            expand=width is None,
            weight=ft.FontWeight.BOLD if bold else None,
            no_wrap=True,
            overflow=ft.TextOverflow.ELLIPSIS,
        )
        for value, (_, width) in zip(values, COLUMNS, strict=True)
    ]


def order_line(orders: OrdersState, row: OrderRow) -> ft.Control:
    values = (row.reference, row.recipient, row.address, row.window, row.status, row.driver)
    tick = tagged(
        "order-select",
        ft.Checkbox(
            value=row.order_id in orders.selected,
            on_change=lambda _: orders.toggle(row.order_id),
            tooltip=f"Select {row.reference}",
        ),
    )
    # The tick stays outside the line's own semantics node: a checkbox inside it would
    # fold the line's words into the checkbox's label.
    line = ft.Row(_cells(values), spacing=12)
    return ft.Container(
        content=ft.Row(
            [ft.Container(tick, width=TICK_WIDTH), tagged("order-row", line, expand=True)],
            spacing=12,
        ),
        padding=ft.Padding.symmetric(vertical=2, horizontal=12),
        border=ft.Border.only(bottom=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)),
    )


def _headings(orders: OrdersState) -> ft.Control:
    def all_or_none(_: ft.Event[ft.Checkbox]) -> None:
        if orders.all_loaded_selected:
            orders.clear_selection()
        else:
            orders.select_all_loaded()

    tick = tagged(
        "orders-select-all",
        ft.Checkbox(
            value=orders.all_loaded_selected,
            on_change=all_or_none,
            tooltip="Select every loaded order",
            disabled=not orders.orders,
        ),
    )
    return ft.Container(
        content=ft.Row(
            [
                ft.Container(tick, width=TICK_WIDTH),
                *_cells(tuple(heading for heading, _ in COLUMNS), bold=True),
            ],
            spacing=12,
        ),
        padding=ft.Padding.symmetric(vertical=2, horizontal=12),
        bgcolor=ft.Colors.SURFACE_CONTAINER_HIGHEST,
    )


def _actions(app: DispatcherAppState) -> ft.Control:
    orders = app.orders
    return ft.Row(
        spacing=12,
        controls=[
            tagged(
                "order-create",
                ft.FilledButton("New order", icon=ft.Icons.ADD, on_click=app.order_create.open),
            ),
            tagged(
                "orders-import",
                ft.OutlinedButton(
                    "Import CSV", icon=ft.Icons.UPLOAD_FILE, on_click=app.order_import.open
                ),
            ),
            tagged(
                "orders-selected-count",
                ft.Text(selection_label(len(orders.selected), len(orders.orders))),
            ),
            *(
                [
                    tagged(
                        "orders-clear-selection",
                        ft.TextButton("Clear selection", on_click=orders.clear_selection),
                    )
                ]
                if orders.selected
                else []
            ),
        ],
    )


@ft.component
def orders_panel(app: DispatcherAppState) -> ft.Control:
    orders = app.orders
    use_observable(orders)
    use_observable(app.drivers)  # driver names arrive separately
    use_observable(app.order_create)
    use_observable(app.order_import)
    if app.order_create.is_open:
        return create_order_panel(app)
    if app.order_import.is_open:
        return import_panel(app)
    names = app.drivers.names
    today = app.today
    lines: list[ft.Control] = [
        order_line(orders, order_row(order, names, tz=app.tz, today=today))
        for order in orders.orders
    ]
    if orders.loaded and not orders.orders:
        lines = [tagged("no-orders", ft.Text("No orders match.", italic=True))]
    footer: list[ft.Control] = [
        tagged("orders-count", ft.Text(f"Showing {len(orders.orders)} of {orders.total}"))
    ]
    if orders.has_more:
        footer.append(
            tagged(
                "orders-load-more",
                ft.OutlinedButton("Load more", on_click=orders.load_more, disabled=orders.loading),
            )
        )
    created = app.order_create.created
    done = app.order_import.created
    news = []
    if created is not None:
        news.append(f"Order {created.reference or '#' + str(created.id)} created.")
    if done:
        news.append(f"{done} orders imported.")
    return ft.Column(
        expand=True,
        controls=[
            _actions(app),
            *([tagged("orders-news", ft.Text(" ".join(news)))] if news else []),
            filters(app),
            *([ft.ProgressBar()] if orders.loading else []),
            *(
                [tagged("orders-error", ft.Text(orders.error, color=ft.Colors.ERROR))]
                if orders.error
                else []
            ),
            assign_toolbar(app),
            _headings(orders),
            ft.ListView(controls=lines, expand=True),
            ft.Row(footer, spacing=16),
        ],
    )
