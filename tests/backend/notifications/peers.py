"""The two peers customer notices go to, run for real on loopback: an SMTP server
(aiosmtpd) that keeps what it receives, and an HTTP SMS gateway that answers as scripted."""

import asyncio
import email
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.live_server import free_port


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # addresses answered 550

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook names)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        self.messages.append(email.message_from_bytes(content))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on loopback; yields its mailbox and port."""
    port = port or free_port()
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@dataclass
class Gateway:
    """What the SMS gateway received, and the statuses it answers with (then 200)."""

    received: list[dict[str, Any]] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def texts_to(self, number: str) -> list[str]:
        with self.lock:
            return [r["body"]["text"] for r in self.received if r["body"]["to"] == number]


@contextmanager
def sms_gateway() -> Iterator[tuple[Gateway, str]]:
    """A real HTTP server on loopback taking the gateway's JSON POSTs; yields it and its URL."""
    gateway = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            with gateway.lock:
                status = gateway.script.pop(0) if gateway.script else 200
                gateway.received.append(
                    {"status": status, "headers": dict(self.headers), "body": body}
                )
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}' if status == 200 else b'{"error": "busy"}')

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway, f"http://127.0.0.1:{server.server_address[1]}/sms"
    finally:
        server.shutdown()
        server.server_close()


async def eventually(check: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    """Wait until ``check()`` holds (polling), or fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def settled(
    fetch: Callable[[], Awaitable[list[dict[str, Any]]]], timeout_s: float = 10.0
) -> list[dict[str, Any]]:
    """The notices ``fetch()`` reads, once none is pending: a message reaches the mailbox
    or the gateway a moment before the worker commits its row as sent."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows = await fetch()
        if all(r["status"] != "pending" for r in rows) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.05)
