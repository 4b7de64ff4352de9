"""The orders grid's filter bar: status, window, driver, zone, sort and the search."""

from collections.abc import Callable
from dataclasses import dataclass

import flet as ft

from app_kit.hooks import tagged
from dispatcher_app.logic.order_filters import (
    ANY_KEY,
    SORT_LABELS,
    UNASSIGNED_KEY,
    WINDOW_LABELS,
    SortChoice,
    WindowChoice,
    driver_choices,
    parse_day_range,
    zone_choices,
)
from dispatcher_app.logic.orders import STATUS_FILTERS, filter_label
from dispatcher_app.state.app import DispatcherAppState
from dispatcher_app.state.fleet_map import FleetMapState
from dispatcher_app.state.orders import DriverFilter
from shared.enums import OrderStatus


@dataclass
class _Typed:
    """Text typed but not yet applied (the search, a range's dates): a ref, so a button
    reads the latest keystrokes."""

    search: str = ""
    first_day: str = ""
    last_day: str = ""


def _menu(
    identifier: str,
    label: str,
    value: str,
    choices: list[tuple[str, str]],
    on_select: ft.ControlEventHandler[ft.Dropdown],
    width: int = 180,
) -> ft.Control:
    return tagged(
        identifier,
        ft.Dropdown(
            label=label,
            value=value,
            width=width,
            on_select=on_select,
            options=[ft.DropdownOption(key=key, text=text) for key, text in choices],
        ),
    )


def _driver_value(value: str | None) -> DriverFilter:
    if value in (None, ANY_KEY):
        return None
    if value == UNASSIGNED_KEY:
        return "unassigned"
    return int(value)


def _use_zone_choices(fleet: FleetMapState) -> list[tuple[str, str]]:
    """The zone filter's choices, following the map's zones. Not ``use_observable``: the
    map changes several times a second, and each re-render would close an open menu."""
    initial: tuple[tuple[str, str], ...] = tuple(zone_choices(fleet.zones))
    choices, set_choices = ft.use_state(initial)

    def subscribe() -> Callable[[], None]:
        def changed() -> None:
            set_choices(tuple(zone_choices(fleet.zones)))  # equal: no re-render

        changed()
        return fleet.subscribe(changed)

    ft.use_effect(subscribe, [fleet])
    return list(choices)


@ft.component
def filters(app: DispatcherAppState) -> ft.Control:
    orders = app.orders
    zones = _use_zone_choices(app.fleet)
    typed = ft.use_ref(_Typed()).current
    assert typed is not None
    range_error, set_range_error = ft.use_state("")

    async def pick_status(e: ft.Event[ft.Dropdown]) -> None:
        value = e.control.value
        await orders.set_status_filter(None if value in (None, ANY_KEY) else OrderStatus(value))

    async def pick_driver(e: ft.Event[ft.Dropdown]) -> None:
        await orders.set_driver_filter(_driver_value(e.control.value))

    async def pick_zone(e: ft.Event[ft.Dropdown]) -> None:
        value = e.control.value
        await orders.set_zone_filter(None if value in (None, ANY_KEY) else int(value))

    async def pick_window(e: ft.Event[ft.Dropdown]) -> None:
        choice = WindowChoice(e.control.value or WindowChoice.ANY)
        if choice is WindowChoice.RANGE:
            orders.window_choice = choice  # the dates come next, then Apply
            orders.notify()
            return
        await orders.set_window(choice)

    async def apply_range() -> None:
        days = parse_day_range(typed.first_day, typed.last_day)
        if isinstance(days, str):
            set_range_error(days)
            return
        set_range_error("")
        await orders.set_window(WindowChoice.RANGE, days)

    async def pick_sort(e: ft.Event[ft.Dropdown]) -> None:
        await orders.set_sort(SortChoice(e.control.value or SortChoice.NEWEST))

    async def run_search() -> None:
        await orders.search(typed.search)

    def keep(attribute: str) -> ft.ControlEventHandler[ft.TextField]:
        def handler(e: ft.Event[ft.TextField]) -> None:
            setattr(typed, attribute, e.control.value)

        return handler

    driver = orders.driver_filter
    menus = ft.Row(
        spacing=12,
        wrap=True,
        controls=[
            _menu(
                "status-filter",
                "Status",
                orders.status_filter.value if orders.status_filter else ANY_KEY,
                [(s.value if s else ANY_KEY, filter_label(s)) for s in STATUS_FILTERS],
                pick_status,
                width=200,
            ),
            _menu(
                "orders-filter-window",
                "Window",
                orders.window_choice.value,
                [(c.value, label) for c, label in WINDOW_LABELS.items()],
                pick_window,
                width=160,
            ),
            _menu(
                "orders-filter-driver",
                "Driver",
                ANY_KEY if driver is None else str(driver),
                driver_choices(app.drivers.drivers),
                pick_driver,
            ),
            _menu(
                "orders-filter-zone",
                "Zone",
                ANY_KEY if orders.zone_filter is None else str(orders.zone_filter),
                zones,
                pick_zone,
            ),
            _menu(
                "orders-sort",
                "Sort",
                orders.sort.value,
                [(c.value, label) for c, label in SORT_LABELS.items()],
                pick_sort,
            ),
        ],
    )
    rows: list[ft.Control] = [menus]
    if orders.window_choice is WindowChoice.RANGE:
        rows.append(
            ft.Row(
                spacing=12,
                controls=[
                    tagged(
                        "orders-window-first",
                        ft.TextField(
                            label="First day (YYYY-MM-DD)",
                            width=200,
                            value=typed.first_day,
                            on_change=keep("first_day"),
                        ),
                    ),
                    tagged(
                        "orders-window-last",
                        ft.TextField(
                            label="Last day",
                            width=200,
                            value=typed.last_day,
                            on_change=keep("last_day"),
                        ),
                    ),
                    tagged(
                        "orders-window-apply",
                        ft.OutlinedButton("Apply", on_click=apply_range),
                    ),
                    *(
                        [ft.Text(range_error, color=ft.Colors.ERROR)]
                        if range_error
                        else [ft.Text(orders.days.label())]
                        if orders.days
                        else []
                    ),
                ],
            )
        )
    rows.append(
        ft.Row(
            spacing=12,
            controls=[
                tagged(
                    "order-search",
                    ft.TextField(
                        label="Search reference, recipient, address, barcode",
                        value=typed.search,
                        on_change=keep("search"),
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
    )
    return ft.Column(rows, spacing=8)
