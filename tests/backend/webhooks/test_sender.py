"""One signed POST: it goes to the address the URL guard checked, with the name kept for
``Host`` (and TLS), so DNS answering differently a moment later changes nothing."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from backend.webhooks.sender import _pinned, post
from backend.webhooks.url_guard import Target


@pytest.fixture
def host_echo() -> Iterator[tuple[int, list[str]]]:
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hosts.append(self.headers["Host"])
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hosts
    finally:
        server.shutdown()
        server.server_close()


async def test_the_request_reaches_the_checked_address_under_its_own_name(
    host_echo: tuple[int, list[str]],
) -> None:
    port, hosts = host_echo
    # "hooks.example.test" resolves nowhere: only the pinned address can be reached.
    target = Target(f"http://hooks.example.test:{port}/in", "hooks.example.test", "127.0.0.1")
    url, headers, extensions = _pinned(target)
    assert (url.host, headers, extensions) == (
        "127.0.0.1",
        {"Host": f"hooks.example.test:{port}"},
        {"sni_hostname": "hooks.example.test"},
    )
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.post(url, content=b"{}", headers=headers, extensions=extensions)
    assert response.status_code == 204
    assert hosts == [f"hooks.example.test:{port}"]


async def test_a_refused_url_is_an_attempt_that_sent_nothing() -> None:
    async with httpx.AsyncClient(trust_env=False) as client:
        attempt = await post(
            client, "http://127.0.0.1:9/in", b"{}", {}, allow_private=False, timeout_s=1
        )
    assert attempt.status_code is None
    assert attempt.error is not None
    assert attempt.error.startswith("refused: ")
    assert "loopback" in attempt.error
