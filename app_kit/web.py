"""Serving a Flet app on the web: one API client and one state per browser session.

Flet runs here only in web mode, with no CDN (it would hang on its logo offline).
"""

import argparse
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import flet as ft

if TYPE_CHECKING:  # a phone build has no web server: uvicorn only where we serve
    from starlette.types import ASGIApp

from shared.api_client import ApiClient

DEFAULT_API = "http://127.0.0.1:8000"


@runtime_checkable
class Closing(Protocol):
    """A state with something to close when its browser tab goes away (a live socket)."""

    async def aclose(self) -> None: ...


@runtime_checkable
class Starting(Protocol):
    """A state with something to do once its tab opened (sign back in with a kept token)."""

    async def start(self) -> None: ...


def session_main[S](
    api_url: str, title: str, make_state: Callable[[ApiClient], S], view: Callable[[S], Any]
) -> Callable[[ft.Page], Awaitable[None]]:
    """The Flet entry point: each browser tab is its own signed-in session."""

    async def main(page: ft.Page) -> None:
        # The browser's address (Flet reads it off the session socket): per-address limits
        # on the server then count each browser rather than this web app as one client.
        client = ApiClient(api_url, client_address=page.client_ip or None)
        state = make_state(client)

        async def closed(_: ft.Event[ft.Page]) -> None:
            if isinstance(state, Closing):
                await state.aclose()
            await client.aclose()

        page.title = title
        page.on_close = closed
        page.render(view, state)
        if isinstance(state, Starting):
            await state.start()

    return main


def create_web_app(main: Callable[[ft.Page], Awaitable[None]]) -> "ASGIApp":
    """The ASGI app serving the Flutter web client and its session socket, with no CDN."""
    app: ASGIApp = ft.run(main, export_asgi_app=True, no_cdn=True)
    return app


def serve(name: str, main: Callable[[ft.Page], Awaitable[None]], host: str, port: int) -> None:
    """Serve the app until interrupted."""
    import uvicorn

    print(f"{name}: http://{host}:{port}/", flush=True)
    # The same websocket implementation Flet's own web server picks.
    uvicorn.run(
        create_web_app(main), host=host, port=port, ws="websockets-sansio", log_level="warning"
    )


def open_desktop(main: Callable[[ft.Page], Awaitable[None]]) -> None:
    """Open the app in Flet's desktop client (a window of its own) until it is closed.

    Flet fetches its desktop client on first use; where it cannot (no network, no display)
    the web mode is the way to run the app.
    """
    ft.run(main, view=ft.AppView.FLET_APP)


def launch(name: str, main: Callable[[ft.Page], Awaitable[None]], args: argparse.Namespace) -> None:
    """What ``python -m <app>`` does: a desktop window with ``--desktop``, else the web."""
    if args.desktop:
        open_desktop(main)
    else:
        serve(name, main, args.host, args.port)


def parse_args(
    prog: str,
    default_port: int,
    argv: Sequence[str] | None = None,
    parents: Sequence[argparse.ArgumentParser] = (),
) -> argparse.Namespace:
    """``--host``, ``--port``, ``--api`` (default ``$LASTMILE_API_URL``, then localhost) and
    ``--desktop``; ``parents``: an app's own options (parsers made with ``add_help=False``)."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {prog}", description=f"Serve {prog} on the web.", parents=list(parents)
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=default_port, help="port to listen on")
    parser.add_argument(
        "--api",
        default=os.environ.get("LASTMILE_API_URL") or DEFAULT_API,
        help=f"Lastmile server URL (default: $LASTMILE_API_URL, then {DEFAULT_API})",
    )
    parser.add_argument(
        "--desktop",
        action="store_true",
        help="open in the Flet desktop client instead of serving on the web",
    )
    return parser.parse_args(argv)
