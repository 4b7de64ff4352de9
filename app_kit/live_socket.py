"""The WebSocket side of the apps' live updates: opening a socket, reading its frames,
telling why it ended, and getting a fresh token after the server's ``4401``.

The driver's socket and the dispatcher's fleet socket both use it; each keeps its own
reconnect loop, since what a socket "working" means differs (``ready`` or ``hello``)."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websocket_connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from shared.api_client import ApiClient, ApiError, AuthError

CLOSE_UNAUTHORIZED = 4401  # the access token expired: refresh it and connect again
CLOSE_FORBIDDEN = 4403  # this account may not open this socket: stop
# The fleet socket's frames carry up to 500 drivers' positions.
MAX_FRAME_BYTES = 2**24


class SocketClosedError(Exception):
    """The socket ended or never opened; ``code`` is the server's close code, if it sent one."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"socket closed ({code}): {reason}")
        self.code, self.reason = code, reason


class Socket(Protocol):
    async def send(self, text: str) -> None: ...

    async def recv(self) -> str:
        """The next text frame; raises :class:`SocketClosedError` once the socket ends."""
        ...


Connect = Callable[[str], AbstractAsyncContextManager[Socket]]


class _WebSocket:
    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection

    async def send(self, text: str) -> None:
        try:
            await self._connection.send(text)
        except ConnectionClosed as exc:
            raise _closed(exc) from exc

    async def recv(self) -> str:
        try:
            message = await self._connection.recv()
        except ConnectionClosed as exc:
            raise _closed(exc) from exc
        return message if isinstance(message, str) else message.decode("utf-8", "replace")


def _closed(exc: ConnectionClosed) -> SocketClosedError:
    if exc.rcvd is None:
        return SocketClosedError(None, "the connection dropped")
    return SocketClosedError(exc.rcvd.code, exc.rcvd.reason)


@asynccontextmanager
async def websocket(url: str) -> AsyncIterator[Socket]:
    """A real WebSocket (the ``websockets`` client); failing to open it is a
    :class:`SocketClosedError` too."""
    try:
        connection = await websocket_connect(url, open_timeout=10, max_size=MAX_FRAME_BYTES)
    except (OSError, TimeoutError, WebSocketException) as exc:
        raise SocketClosedError(None, f"cannot connect: {exc}") from exc
    try:
        yield _WebSocket(connection)
    finally:
        await connection.close()


def socket_url(base_url: str, path: str) -> str:
    """``path`` on the API server as a WebSocket address (``ws://``, or ``wss://`` for https)."""
    scheme, rest = base_url.split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest.rstrip('/')}{path}"


async def refreshed(client: ApiClient, on_expired: Callable[[], None]) -> bool:
    """A fresh access token after a ``4401``: False when the session is over (then
    ``on_expired`` was called) or the client was closed; True to try the socket again
    (also when the server is busy or away: the caller pauses first)."""
    try:
        await client.refresh()
    except AuthError:
        on_expired()
        return False
    except (ApiError, httpx.TransportError):
        return True
    except RuntimeError:  # the client was closed: the app is stopping
        return False
    return True
