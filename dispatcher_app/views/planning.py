"""The "plan today" bar: start the optimiser, watch its progress, publish the routes."""

import flet as ft

from app_kit.hooks import tagged, use_observable
from dispatcher_app.state.app import DispatcherAppState


@ft.component
def planning_bar(app: DispatcherAppState) -> ft.Control:
    planning = app.planning
    use_observable(planning)

    async def plan(_: ft.Event[ft.Button]) -> None:
        await planning.plan(app.today)

    job = planning.job
    controls: list[ft.Control] = [
        tagged(
            "plan-today",
            ft.Button("Plan today", icon=ft.Icons.ROUTE, on_click=plan, disabled=planning.running),
        ),
    ]
    if planning.running and job is not None:
        controls.append(tagged("plan-progress", ft.ProgressBar(value=job.percent / 100, width=160)))
        controls.append(tagged("plan-cancel", ft.TextButton("Cancel", on_click=planning.cancel)))
    controls.append(tagged("plan-status", ft.Text(planning.text, expand=True), expand=True))
    if planning.can_publish:
        controls.append(
            tagged("plan-publish", ft.FilledButton("Publish routes", on_click=planning.publish))
        )
    elif planning.published:
        controls.append(tagged("plan-published", ft.Text("Published")))
    return ft.Row(controls)
