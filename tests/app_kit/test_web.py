"""How the apps are started: ``python -m driver_app|dispatcher_app --host H --port P --api URL``."""

import flet as ft
import pytest

from app_kit import web
from app_kit.web import DEFAULT_API, parse_args
from shared.api_client import ApiClient


def test_the_launchers_arguments_are_understood(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LASTMILE_API_URL", raising=False)
    args = parse_args(
        "driver_app", 8552, ["--host", "0.0.0.0", "--port", "9001", "--api", "http://api.test:8000"]
    )
    assert (args.host, args.port, args.api) == ("0.0.0.0", 9001, "http://api.test:8000")
    assert parse_args("dispatcher_app", 8551, []).port == 8551


def test_the_api_defaults_to_the_environment_then_localhost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LASTMILE_API_URL", "http://from-env.test")
    assert parse_args("driver_app", 8552, []).api == "http://from-env.test"
    monkeypatch.delenv("LASTMILE_API_URL")
    assert parse_args("driver_app", 8552, []).api == DEFAULT_API == "http://127.0.0.1:8000"


def test_desktop_opens_the_flet_client_and_the_default_serves_the_web(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The desktop client is downloaded by Flet and cannot run here: its entry point is the
    boundary, so it is recorded instead of opened."""
    opened: list[tuple[object, object]] = []
    served: list[tuple[str, int]] = []

    async def main(page: ft.Page) -> None:
        return None

    monkeypatch.setattr(ft, "run", lambda target, **kw: opened.append((target, kw.get("view"))))
    monkeypatch.setattr(web, "serve", lambda name, target, host, port: served.append((host, port)))

    web.launch("dispatcher app", main, parse_args("dispatcher_app", 8551, ["--desktop"]))
    assert opened == [(main, ft.AppView.FLET_APP)]
    assert served == []

    web.launch("dispatcher app", main, parse_args("dispatcher_app", 8551, ["--port", "9100"]))
    assert served == [("127.0.0.1", 9100)]
    assert len(opened) == 1


async def test_each_browser_session_speaks_for_its_browsers_address() -> None:
    """The web apps call the API from their own server: each tab's client carries the
    browser's address (Flet's ``page.client_ip``) so the server's per-address limits count
    browsers, not the app. A page without one (the desktop client) sends none."""
    clients: list[ApiClient] = []

    class Page:  # the attributes session_main uses of a Flet page
        title = ""
        on_close = None

        def __init__(self, client_ip: str) -> None:
            self.client_ip = client_ip

        def render(self, view: object, state: object) -> None:
            return None

    main = web.session_main("http://127.0.0.1:9", "t", clients.append, lambda state: None)
    await main(Page("203.0.113.5"))  # type: ignore[arg-type]
    await main(Page(""))  # type: ignore[arg-type]
    assert [c.client_address for c in clients] == ["203.0.113.5", None]
    assert clients[0]._http.headers["X-Forwarded-For"] == "203.0.113.5"
    assert "X-Forwarded-For" not in clients[1]._http.headers
    for client in clients:
        await client.aclose()
