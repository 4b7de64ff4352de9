"""The "plan today" panel: start the optimiser, watch its progress and best plan so far,
compare the finished plan with the current one, publish it."""

import flet as ft

from app_kit.hooks import tagged, use_observable
from dispatcher_app.logic.planning import comparison_rows, unassigned_lines
from dispatcher_app.state.app import DispatcherAppState
from dispatcher_app.state.planning import PlanningState

COLUMN_W = 140


def _progress(planning: PlanningState) -> list[ft.Control]:
    job, fraction = planning.job, planning.progress
    if job is None or fraction is None:
        return []
    words = f"{round(fraction * 100)} %"
    if planning.best:
        words += f" · {planning.best}"
    return [
        tagged("plan-progress", ft.ProgressBar(value=fraction, width=160)),
        tagged("plan-percent", ft.Text(words)),
    ]


def _comparison(planning: PlanningState) -> list[ft.Control]:
    comparison = planning.comparison
    if comparison is None:
        return []

    def line(cells: tuple[str, str, str], *, header: bool = False) -> ft.Control:
        weight = ft.FontWeight.BOLD if header else None
        return ft.Row([ft.Text(text, width=COLUMN_W, weight=weight) for text in cells], spacing=8)

    table = ft.Column(
        [line(("", "Current plan", "Once published"), header=True)]
        + [line(row) for row in comparison_rows(comparison)],
        spacing=4,
    )
    out: list[ft.Control] = [tagged("plan-comparison", table)]
    left_out = unassigned_lines(comparison.proposal)
    if left_out:
        out.append(
            tagged(
                "plan-unassigned",
                ft.Column(
                    [
                        ft.Text("Left out of the proposal", weight=ft.FontWeight.BOLD),
                        *(ft.Text(text) for text in left_out),
                    ],
                    spacing=2,
                ),
            )
        )
    return out


@ft.component
def planning_bar(app: DispatcherAppState) -> ft.Control:
    planning = app.planning
    use_observable(planning)

    async def plan(_: ft.Event[ft.Button]) -> None:
        await planning.plan(app.today)

    controls: list[ft.Control] = [
        tagged(
            "plan-today",
            ft.Button("Plan today", icon=ft.Icons.ROUTE, on_click=plan, disabled=planning.running),
        ),
        *_progress(planning),
    ]
    if planning.running:
        controls.append(tagged("plan-cancel", ft.TextButton("Cancel", on_click=planning.cancel)))
    status = planning.status if planning.progress is not None else planning.text
    controls.append(tagged("plan-status", ft.Text(status, expand=True), expand=True))
    if planning.can_publish:
        controls.append(
            tagged("plan-publish", ft.FilledButton("Publish routes", on_click=planning.publish))
        )
    elif planning.published:
        controls.append(tagged("plan-published", ft.Text("Published")))
    return ft.Column([ft.Row(controls), *_comparison(planning)], spacing=12)
