"""Give orders to a driver, reorder a driver's stops, see the effect, publish."""

from collections.abc import Awaitable, Callable

import flet as ft

from app_kit.hooks import tagged, use_observable
from dispatcher_app.logic.assign import StopLine, route_summary, route_title, stop_lines
from dispatcher_app.state.app import DispatcherAppState
from dispatcher_app.state.navigation import Section
from shared.schemas.optimization import RouteChange


def _driver_menu(
    app: DispatcherAppState,
    chosen: int | None,
    on_pick: Callable[[ft.Event[ft.Dropdown]], Awaitable[None]],
) -> ft.Control:
    return tagged(
        "assign-driver",
        ft.Dropdown(
            label="Driver",
            width=240,
            value=str(chosen) if chosen is not None else None,
            on_select=on_pick,
            options=[
                ft.DropdownOption(key=str(driver.id), text=driver.name)
                for driver in app.drivers.drivers
            ],
        ),
    )


@ft.component
def assign_toolbar(app: DispatcherAppState) -> ft.Control:
    """Above the orders grid once orders are selected: give them to a driver."""
    orders = app.orders
    use_observable(orders)
    use_observable(app.drivers)
    selected = sorted(orders.selected)
    if not selected:
        return ft.Row([])

    async def pick(e: ft.Event[ft.Dropdown]) -> None:
        if e.control.value:
            app.assign.start(selected)
            app.nav.go(Section.PLAN)
            await app.assign.choose_driver(int(e.control.value))

    return ft.Row(
        [
            ft.Text(f"Give {len(selected)} selected to", weight=ft.FontWeight.BOLD),
            _driver_menu(app, None, pick),
        ],
        spacing=12,
    )


def _stop_row(app: DispatcherAppState, route: RouteChange, line: StopLine) -> ft.Control:
    async def up(_: ft.Event[ft.IconButton]) -> None:
        await app.assign.move(route.driver_id, line.stop_id, -1)

    async def down(_: ft.Event[ft.IconButton]) -> None:
        await app.assign.move(route.driver_id, line.stop_id, +1)

    colour = ft.Colors.ERROR if line.late else None
    words = [
        ft.Text(line.number, width=28, weight=ft.FontWeight.BOLD),
        tagged(
            "route-stop-label",
            ft.Text(
                line.label,
                width=260,
                no_wrap=True,
                overflow=ft.TextOverflow.ELLIPSIS,
                style=(
                    ft.TextStyle(decoration=ft.TextDecoration.LINE_THROUGH)
                    if line.removed
                    else None
                ),
            ),
        ),
        tagged("route-stop-window", ft.Text(line.window, width=130)),
        tagged("route-stop-eta", ft.Text(line.eta, width=180)),
        tagged("route-stop-late", ft.Text(line.late or "", width=140, color=colour)),
    ]
    buttons: list[ft.Control] = []
    if line.can_move_up:
        buttons.append(tagged("route-stop-up", ft.IconButton(ft.Icons.ARROW_UPWARD, on_click=up)))
    if line.can_move_down:
        buttons.append(
            tagged("route-stop-down", ft.IconButton(ft.Icons.ARROW_DOWNWARD, on_click=down))
        )
    return tagged(
        "route-stop",
        ft.Container(
            ft.Row([*words, *buttons], spacing=8),
            bgcolor=ft.Colors.PRIMARY_CONTAINER if line.added else None,
            padding=ft.Padding.symmetric(vertical=2, horizontal=8),
        ),
    )


def _route_card(app: DispatcherAppState, route: RouteChange, editable: bool) -> ft.Control:
    lines = stop_lines(route, tz=app.tz, today=app.today, editable=editable)
    return tagged(
        "assign-route",
        ft.Container(
            ft.Column(
                [
                    tagged(
                        "assign-route-title",
                        ft.Text(route_title(route, app.drivers.names), weight=ft.FontWeight.BOLD),
                    ),
                    tagged("assign-route-summary", ft.Text(route_summary(route))),
                    *(_stop_row(app, route, line) for line in lines),
                ],
                spacing=4,
            ),
            padding=12,
            border_radius=8,
            bgcolor=ft.Colors.SURFACE_CONTAINER_LOW,
        ),
    )


@ft.component
def assign_panel(app: DispatcherAppState) -> ft.Control:
    """The change being prepared: who takes the orders, the preview, publish or cancel."""
    assign = app.assign
    use_observable(assign)
    use_observable(app.drivers)
    if not assign.active:
        return ft.Column([])

    async def pick(e: ft.Event[ft.Dropdown]) -> None:
        if e.control.value:
            await assign.choose_driver(int(e.control.value))

    heading = (
        f"Give {len(assign.order_ids)} order{'s' if len(assign.order_ids) != 1 else ''} to"
        if assign.order_ids
        else "Edit the route of"
    )
    controls: list[ft.Control] = [
        ft.Row(
            [
                tagged("assign-heading", ft.Text(heading, weight=ft.FontWeight.BOLD, size=16)),
                _driver_menu(app, assign.driver_id, pick),
                tagged("assign-cancel", ft.TextButton("Cancel", on_click=lambda _: assign.clear())),
            ],
            spacing=12,
        )
    ]
    if assign.loading:
        controls.append(ft.ProgressBar())
    if assign.error:
        controls.append(tagged("assign-error", ft.Text(assign.error, color=ft.Colors.ERROR)))
    preview = assign.preview
    if preview is not None:
        editable = {assign.driver_id, *assign.sequences}
        controls.append(
            tagged(
                "assign-preview-panel",
                ft.Column(
                    [_route_card(app, r, r.driver_id in editable) for r in preview.routes],
                    spacing=12,
                ),
            )
        )
        if assign.published is not None:
            controls.append(
                tagged("assign-published", ft.Text("Published to the driver.", italic=True))
            )
        else:
            controls.append(
                tagged(
                    "assign-publish",
                    ft.FilledButton(
                        "Publish to driver",
                        icon=ft.Icons.SEND,
                        on_click=assign.publish,
                        disabled=not assign.can_publish,
                    ),
                )
            )
    return ft.Column(controls, spacing=12)


@ft.component
def plan_panel(app: DispatcherAppState) -> ft.Control:
    """The Plan section: optimise the day, compare, publish; assign, reorder, preview."""
    from dispatcher_app.views.planning import planning_bar

    return ft.Column(
        [planning_bar(app), ft.Divider(), assign_panel(app)],
        expand=True,
        scroll=ft.ScrollMode.AUTO,
    )
