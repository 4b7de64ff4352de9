"""``python -m tests.driver_app.stop_flow_page``: the stop screen alone, on a fake order and
queue, for the browser test. Each queued action is printed as ``QUEUED {json}``."""

import json
from collections.abc import Sequence

import flet as ft

from app_kit.web import parse_args, serve
from driver_app.logic.actions import Action, Files
from driver_app.services.label_reader import NO_SIGNAL, LabelUnreadableError
from driver_app.state.stop_flow import StopFlow
from driver_app.views.stop_flow import stop_flow_view
from tests.driver_app.test_stop_flow import line_for, order_out

PARCELS: Sequence[str] = ("PK-1", "PK-2")
HOMES = {"PK-9": "stop 4 (9 Rue Basse)"}


async def queue(action: Action, files: Files | None = None, *, order_ref: str | None = None) -> str:
    body = {"action": action.model_dump(mode="json"), "files": sorted(files or {})}
    print("QUEUED", json.dumps(body), flush=True)
    return "client-id"


async def no_signal(order_id: int, image: bytes) -> list[str]:
    raise LabelUnreadableError(NO_SIGNAL)


async def main(page: ft.Page) -> None:
    order = order_out(proofs=["signature", "barcode"], barcodes=PARCELS)
    flow = StopFlow(
        line_for(order),
        submit=queue,
        scan_label=no_signal,
        position=lambda: (43.7402, 7.4276),
        on_finished=lambda order_id, status: print("FINISHED", order_id, status, flush=True),
        parcel_homes=HOMES,
    )
    page.render(stop_flow_view, flow)


if __name__ == "__main__":
    args = parse_args("tests.driver_app.stop_flow_page", 8560)
    serve("stop flow page", main, args.host, args.port)
