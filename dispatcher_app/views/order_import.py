"""The CSV import panel: a file (or pasted text), the column mapping, the report per row,
and the two ways to import."""

from dataclasses import dataclass

import flet as ft

from app_kit.hooks import tagged, use_observable
from dispatcher_app.state.app import DispatcherAppState
from dispatcher_app.state.order_import import ImportState
from shared.order_import import LABELS, REQUIRED, OrderField, RowResult

NONE_KEY = "none"
SHOWN_ROWS = 500  # the report lists this many rows; the counts cover them all


@dataclass
class _Pasted:
    text: str = ""
    picker: ft.FilePicker | None = None  # a service lives as long as something holds it


def _mapping(state: ImportState) -> ft.Control:
    assert state.table is not None
    headers = state.table.headers

    def menu(key: OrderField) -> ft.Control:
        def picked(e: ft.Event[ft.Dropdown]) -> None:
            value = e.control.value
            state.map_column(key, None if value in (None, NONE_KEY) else int(value))

        column = state.mapping.get(key)
        return tagged(
            f"import-map-{key.value.replace('_', '-')}",
            ft.Dropdown(
                label=LABELS[key] + (" *" if key in REQUIRED else ""),
                width=190,
                value=NONE_KEY if column is None else str(column),
                on_select=picked,
                options=[
                    ft.DropdownOption(key=NONE_KEY, text="(not in the file)"),
                    *(
                        ft.DropdownOption(key=str(i), text=h or f"column {i + 1}")
                        for i, h in enumerate(headers)
                    ),
                ],
            ),
        )

    return ft.Row([menu(key) for key in OrderField], wrap=True, spacing=8, run_spacing=8)


def _report_line(result: RowResult) -> ft.Control:
    message = (
        "ready"
        if result.ok
        else "; ".join(f"{error.column}: {error.message}" for error in result.errors)
    )
    return tagged(
        "import-report-row",
        ft.Row(
            [
                ft.Text(str(result.row), width=60),
                ft.Text(
                    "OK" if result.ok else "Error",
                    width=60,
                    color=ft.Colors.GREEN_800 if result.ok else ft.Colors.ERROR,
                    weight=ft.FontWeight.BOLD,
                ),
                ft.Text(message, expand=True),
            ]
        ),
    )


def _report(state: ImportState) -> list[ft.Control]:
    valid, failed = len(state.valid), len(state.failed)
    summary = f"{len(state.results)} rows: {valid} ready, {failed} with errors"
    heading = ft.Row(
        [
            ft.Text("Row", width=60, weight=ft.FontWeight.BOLD),
            ft.Text("Result", width=60, weight=ft.FontWeight.BOLD),
            ft.Text("Message", weight=ft.FontWeight.BOLD),
        ]
    )
    shown = state.results[:SHOWN_ROWS]
    return [
        tagged("import-summary", ft.Text(summary, weight=ft.FontWeight.BOLD)),
        heading,
        ft.ListView([_report_line(r) for r in shown], height=260),
    ]


@ft.component
def import_panel(app: DispatcherAppState) -> ft.Control:
    state = app.order_import
    use_observable(state)
    pasted = ft.use_ref(_Pasted()).current
    assert pasted is not None

    def typed(e: ft.Event[ft.TextField]) -> None:
        pasted.text = e.control.value

    def read_pasted() -> None:
        state.load_text(pasted.text, "the pasted text")

    async def pick_file() -> None:
        if pasted.picker is None:
            pasted.picker = ft.FilePicker()
        files = await pasted.picker.pick_files(
            allowed_extensions=["csv", "txt"], allow_multiple=False, with_data=True
        )
        for file in files or []:
            if file.bytes is not None:
                state.load_text(file.bytes.decode("utf-8-sig", errors="replace"), file.name)

    rows: list[ft.Control] = [
        ft.Text("Import orders from a CSV", size=20, weight=ft.FontWeight.BOLD),
        ft.Text(
            "One order per row, the first row naming the columns. Required: recipient name, "
            "address, latitude and longitude; window times are local unless they carry an offset."
        ),
        ft.Row(
            [
                tagged(
                    "import-pick-file",
                    ft.OutlinedButton(
                        "Choose a file", icon=ft.Icons.FOLDER_OPEN, on_click=pick_file
                    ),
                ),
                ft.Text(state.file_name),
            ]
        ),
        tagged(
            "import-text",
            ft.TextField(
                label="…or paste the CSV here",
                multiline=True,
                min_lines=3,
                max_lines=8,
                value=pasted.text,
                on_change=typed,
            ),
        ),
        tagged("import-read", ft.OutlinedButton("Check the pasted text", on_click=read_pasted)),
    ]
    if state.table is not None:
        rows.append(ft.Text("Columns", weight=ft.FontWeight.BOLD))
        rows.append(_mapping(state))
        if state.missing:
            names = ", ".join(LABELS[key] for key in state.missing)
            rows.append(
                tagged("import-missing", ft.Text(f"No column for: {names}", color=ft.Colors.ERROR))
            )
        rows += _report(state)
    if state.busy:
        rows.append(ft.ProgressBar())
    if state.error:
        rows.append(tagged("import-error", ft.Text(state.error, color=ft.Colors.ERROR)))
    if state.created is not None:
        rows.append(tagged("import-result", ft.Text(f"{state.created} orders created.")))
    rows.append(
        ft.Row(
            [
                tagged(
                    "import-all",
                    ft.FilledButton(
                        "Import", on_click=state.import_all, disabled=not state.can_import_all
                    ),
                ),
                tagged(
                    "import-valid",
                    ft.OutlinedButton(
                        f"Import valid rows ({len(state.valid)})",
                        on_click=state.import_valid,
                        disabled=not state.can_import_valid or not state.failed,
                    ),
                ),
                tagged("import-close", ft.TextButton("Close", on_click=state.close)),
            ]
        )
    )
    return tagged(
        "import-panel",
        ft.Column(rows, expand=True, scroll=ft.ScrollMode.AUTO, spacing=10),
        expand=True,
    )
