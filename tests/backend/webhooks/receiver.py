"""A real webhook receiver on a free loopback port: an HTTP server in a thread that
checks every delivery's signature with ``shared.webhook_signing.verify`` and answers
with scripted status codes (then 200)."""

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from shared.webhook_signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    SignatureError,
    verify,
)


@dataclass
class Received:
    delivery_id: int
    event_type: str
    body: dict[str, Any]
    signature_error: str | None


@dataclass
class Receiver:
    url: str
    secret: str = ""  # set once the endpoint is registered
    statuses: list[int] = field(default_factory=list)  # answers, in turn; then 200
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    now: Callable[[], float | None] = lambda: None  # unix seconds; None: the clock

    def answer(self, raw: bytes, headers: Any) -> int:
        error = None
        try:
            verify(self.secret, raw, headers.get(SIGNATURE_HEADER), now=self.now())
        except SignatureError as exc:
            error = str(exc)
        with self.lock:
            self.received.append(
                Received(
                    int(headers[DELIVERY_HEADER]), headers[EVENT_HEADER], json.loads(raw), error
                )
            )
            if error is not None:
                return 400
            return self.statuses.pop(0) if self.statuses else 200

    def types(self) -> list[str]:
        with self.lock:
            return [r.event_type for r in sorted(self.received, key=lambda r: r.delivery_id)]


@contextmanager
def run_receiver(path: str = "/hooks/lastmile") -> Iterator[Receiver]:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.answer(raw, self.headers)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}{path}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
