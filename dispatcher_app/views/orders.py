"""The orders grid with its status filter, search box and "load more"."""

from dataclasses import dataclass

import flet as ft

from app_kit.hooks import tagged, use_observable
from dispatcher_app.logic.orders import STATUS_FILTERS, OrderRow, filter_label, order_row
from dispatcher_app.state.app import DispatcherAppState
from dispatcher_app.state.orders import OrdersState
from shared.enums import OrderStatus

ALL = "all"
# (heading, width in logical pixels; None takes the remaining room)
COLUMNS: tuple[tuple[str, int | None], ...] = (
    ("Reference", 120),
    ("Recipient", 160),
    ("Address", None),
    ("Window", 170),
    ("Status", 130),
    ("Driver", 150),
)


def _cells(values: tuple[str, ...], *, bold: bool = False) -> ft.Row:
    return ft.Row(
        spacing=12,
        controls=[
            ft.Text(
                value,
                width=width,
                expand=width is None,
                weight=ft.FontWeight.BOLD if bold else None,
                no_wrap=True,
                overflow=ft.TextOverflow.ELLIPSIS,
            )
            for value, (_, width) in zip(values, COLUMNS, strict=True)
        ],
    )


def order_line(row: OrderRow) -> ft.Control:
    values = (row.reference, row.recipient, row.address, row.window, row.status, row.driver)
    return tagged(
        "order-row",
        ft.Container(
            content=_cells(values),
            padding=ft.Padding.symmetric(vertical=8, horizontal=12),
            border=ft.Border.only(bottom=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)),
        ),
    )


@dataclass
class _Search:
    """The search box's text; a ref so the button reads the latest keystrokes."""

    text: str = ""


@ft.component
def filters(orders: OrdersState) -> ft.Control:
    search = ft.use_ref(_Search()).current
    assert search is not None

    def typed(e: ft.Event[ft.TextField]) -> None:
        search.text = e.control.value

    async def run_search() -> None:
        await orders.search(search.text)

    async def pick_status(e: ft.Event[ft.Dropdown]) -> None:
        value = e.control.value
        await orders.set_status_filter(None if value in (None, ALL) else OrderStatus(value))

    current = orders.status_filter.value if orders.status_filter else ALL
    return ft.Row(
        spacing=12,
        controls=[
            tagged(
                "status-filter",
                ft.Dropdown(
                    label="Status",
                    value=current,
                    width=220,
                    on_select=pick_status,
                    options=[
                        ft.DropdownOption(
                            key=status.value if status else ALL, text=filter_label(status)
                        )
                        for status in STATUS_FILTERS
                    ],
                ),
            ),
            tagged(
                "order-search",
                ft.TextField(
                    label="Search reference, recipient, address, barcode",
                    value=search.text,
                    on_change=typed,
                    on_submit=run_search,
                ),
                expand=True,
            ),
            tagged(
                "order-search-submit",
                ft.IconButton(ft.Icons.SEARCH, tooltip="Search", on_click=run_search),
            ),
        ],
    )


@ft.component
def orders_panel(app: DispatcherAppState) -> ft.Control:
    orders = app.orders
    use_observable(orders)
    use_observable(app.drivers)  # driver names arrive separately
    names = app.drivers.names
    today = app.today
    lines: list[ft.Control] = [
        order_line(order_row(order, names, tz=app.tz, today=today)) for order in orders.orders
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
    return ft.Column(
        expand=True,
        controls=[
            filters(orders),
            *([ft.ProgressBar()] if orders.loading else []),
            *(
                [tagged("orders-error", ft.Text(orders.error, color=ft.Colors.ERROR))]
                if orders.error
                else []
            ),
            ft.Container(
                content=_cells(tuple(heading for heading, _ in COLUMNS), bold=True),
                padding=ft.Padding.symmetric(vertical=8, horizontal=12),
                bgcolor=ft.Colors.SURFACE_CONTAINER_HIGHEST,
            ),
            ft.ListView(controls=lines, expand=True),
            ft.Row(footer, spacing=16),
        ],
    )
