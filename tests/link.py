"""A network link a test can cut: a TCP relay on loopback in front of a real server.

The driver app in web mode runs its Python (and so its API calls) on the machine serving
it, not in the browser, so "the phone loses signal" is this relay going down: open
connections are dropped and new ones are closed at once, as a dead network would.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tests.live_server import free_port


class Link:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self.up = True
        self._open: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        """No signal: every open connection dies and new ones fail."""
        self.up = False
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    def restore(self) -> None:
        self.up = True

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.transport.abort()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._open.update((writer, upstream_writer))
        try:
            await asyncio.gather(
                self._relay(reader, upstream_writer), self._relay(upstream_reader, writer)
            )
        finally:
            self._open.difference_update((writer, upstream_writer))


@asynccontextmanager
async def link_to(base_url: str) -> AsyncIterator[Link]:
    """A :class:`Link` to the server at ``base_url`` (``http://host:port``), up at first."""
    host, port = base_url.removeprefix("http://").rstrip("/").split(":")
    link = Link(host, int(port))
    link.port = free_port()
    server = await asyncio.start_server(link._serve, "127.0.0.1", link.port)
    try:
        yield link
    finally:
        link.cut()
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()
