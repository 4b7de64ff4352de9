"""The KPIs: a range (today, 7 or 30 days), seven figure tiles, two charts per day
(deliveries on time, late and failed at the first try; planned vs driven distance), and
a table of on-time deliveries per drop-off window slot."""

import flet as ft
import flet_charts as fch

from app_kit.hooks import tagged, use_observable
from dispatcher_app.logic.kpis import (
    RANGES,
    WINDOW_COLUMNS,
    Tile,
    delivery_bars,
    distance_bars,
    labelled,
    tiles,
    top,
    window_rows,
)
from dispatcher_app.state.app import DispatcherAppState
from shared.schemas.kpis import KpiReport, KpiWindowReport

ON_TIME, LATE, FAILED = ft.Colors.GREEN, ft.Colors.ORANGE, ft.Colors.RED
PLANNED, DRIVEN = ft.Colors.BLUE_200, ft.Colors.INDIGO


def _tile(tile: Tile) -> ft.Control:
    return tagged(
        tile.id,
        ft.Container(
            width=210,
            height=118,
            padding=12,
            border_radius=8,
            bgcolor=ft.Colors.SURFACE_CONTAINER_HIGHEST,
            content=ft.Column(
                [
                    ft.Text(tile.title, size=12, color=ft.Colors.ON_SURFACE_VARIANT),
                    ft.Text(tile.value, size=26, weight=ft.FontWeight.BOLD),
                    ft.Text(tile.detail, size=12),
                ],
                spacing=2,
            ),
        ),
    )


def _axis(labels: list[str]) -> fch.ChartAxis:
    shown = labelled(len(labels))
    return fch.ChartAxis(
        label_size=28,
        labels=[
            fch.ChartAxisLabel(value=i, label=ft.Text(text, size=10))
            for i, text in enumerate(labels)
            if i in shown
        ],
    )


def _rod(value: float, colour: str, what: str) -> fch.BarChartRod:
    return fch.BarChartRod(
        from_y=0, to_y=value, width=8, color=colour, tooltip=f"{what}: {value:g}"
    )


def _legend(*entries: tuple[str, str]) -> ft.Control:
    return ft.Row(
        [
            ft.Row([ft.Container(width=10, height=10, bgcolor=c), ft.Text(t, size=12)], spacing=4)
            for t, c in entries
        ],
        spacing=16,
    )


def _chart(title: str, identifier: str, chart: fch.BarChart, legend: ft.Control) -> ft.Control:
    return ft.Container(
        expand=True,
        padding=8,
        content=ft.Column(
            [
                ft.Text(title, weight=ft.FontWeight.BOLD),
                legend,
                tagged(identifier, ft.Container(chart, height=220)),
            ],
            spacing=6,
        ),
    )


def delivery_chart(report: KpiReport) -> ft.Control:
    bars = delivery_bars(report.days)
    highest = top([max(b.on_time, b.late, b.failed_first) for b in bars])  # whole stops
    chart = fch.BarChart(
        groups=[
            fch.BarChartGroup(
                x=i,
                rods=[
                    _rod(b.on_time, ON_TIME, "on time"),
                    _rod(b.late, LATE, "outside the window"),
                    _rod(b.failed_first, FAILED, "failed at the first try"),
                ],
            )
            for i, b in enumerate(bars)
        ],
        bottom_axis=_axis([b.label for b in bars]),
        left_axis=fch.ChartAxis(label_size=32, label_spacing=max(1, -(-highest // 4))),
        max_y=highest,
        horizontal_grid_lines=fch.ChartGridLines(color=ft.Colors.OUTLINE_VARIANT, width=1),
        interactive=True,
    )
    legend = _legend(
        ("on time", ON_TIME), ("outside the window", LATE), ("failed first try", FAILED)
    )
    return _chart("Deliveries per day", "kpi-chart-deliveries", chart, legend)


def distance_chart(report: KpiReport) -> ft.Control:
    bars = distance_bars(report.days)
    chart = fch.BarChart(
        groups=[
            fch.BarChartGroup(
                x=i,
                rods=[
                    _rod(b.planned_km, PLANNED, "planned km"),
                    _rod(b.driven_km, DRIVEN, "driven km"),
                ],
            )
            for i, b in enumerate(bars)
        ],
        bottom_axis=_axis([b.label for b in bars]),
        left_axis=fch.ChartAxis(label_size=32),
        max_y=top([max(b.planned_km, b.driven_km) for b in bars]),
        horizontal_grid_lines=fch.ChartGridLines(color=ft.Colors.OUTLINE_VARIANT, width=1),
        interactive=True,
    )
    legend = _legend(("planned km", PLANNED), ("driven km", DRIVEN))
    return _chart("Planned vs driven distance", "kpi-chart-distance", chart, legend)


def _most_viewed(report: KpiReport) -> ft.Control:
    if not report.most_viewed:
        return ft.Container()
    words = ", ".join(f"{v.reference or f'#{v.order_id}'} ({v.views})" for v in report.most_viewed)
    return tagged("kpi-most-viewed", ft.Text(f"Most visited tracking pages: {words}", size=12))


def _cells(texts: tuple[str, ...], bold: bool = False) -> list[ft.Control]:
    weight = ft.FontWeight.BOLD if bold else None
    return [
        ft.Text(t, width=130 if k == 0 else 100, size=12, weight=weight)
        for k, t in enumerate(texts)
    ]


def window_table(report: KpiWindowReport | None) -> ft.Control:
    rows = window_rows(report) if report is not None else []
    if not rows:
        return ft.Container()
    return tagged(
        "kpi-windows",
        ft.Column(
            [
                ft.Text("On time per delivery window", weight=ft.FontWeight.BOLD),
                ft.Row(_cells(WINDOW_COLUMNS, bold=True)),
                *(tagged(r.id, ft.Row(_cells(r.cells))) for r in rows),
            ],
            spacing=4,
        ),
    )


@ft.component
def kpis_panel(app: DispatcherAppState) -> ft.Control:
    state = app.kpis
    use_observable(state)
    report = state.report

    async def pick(e: ft.Event[ft.SegmentedButton]) -> None:
        chosen = e.control.selected
        if chosen:
            await state.set_range(next(iter(chosen)))

    body: list[ft.Control] = []
    if report is not None:
        body = [
            ft.Row([_tile(t) for t in tiles(report)], wrap=True, spacing=12, run_spacing=12),
            ft.ResponsiveRow(
                [
                    ft.Container(delivery_chart(report), col={"md": 6}),
                    ft.Container(distance_chart(report), col={"md": 6}),
                ]
            ),
            window_table(state.windows),
            _most_viewed(report),
            tagged(
                "kpi-notes",
                ft.Text(" ".join(report.notes), size=11, color=ft.Colors.ON_SURFACE_VARIANT),
            ),
        ]
    return tagged(
        "kpis",
        ft.Column(
            expand=True,
            scroll=ft.ScrollMode.AUTO,
            controls=[
                ft.Row(
                    [
                        ft.Text("KPIs", size=18),
                        tagged(
                            "kpis-range",
                            ft.SegmentedButton(
                                selected=[state.range_choice],
                                allow_empty_selection=False,
                                allow_multiple_selection=False,
                                on_change=pick,
                                segments=[
                                    ft.Segment(
                                        value=key,
                                        label=tagged(f"kpis-range-{key}", ft.Text(label)),
                                    )
                                    for key, label in RANGES.items()
                                ],
                            ),
                        ),
                        tagged(
                            "kpis-reload",
                            ft.IconButton(ft.Icons.REFRESH, tooltip="Reload", on_click=state.load),
                        ),
                    ],
                    spacing=16,
                ),
                *([ft.ProgressBar()] if state.loading else []),
                *(
                    [tagged("kpis-error", ft.Text(state.error, color=ft.Colors.ERROR))]
                    if state.error
                    else []
                ),
                *body,
            ],
        ),
        expand=True,
    )
