"""Live updates: the driver socket (``/api/v1/drivers/me/ws``), kept open while signed in.

The server sends ``{"type": "update", "update": {...}}`` whenever one of the driver's
orders or routes changes (a customer's new instructions or window, dispatch's route edits,
reassignments, a failed delivery's follow-up). An update says what changed, not the new
state, so each one asks for a reload of today's stops; so does every (re)connect, for what
happened while the socket was down. Reloads never pile up: one runs at a time, and the
updates that arrive meanwhile make one more.

Signing in on the socket is the first message ``{"type": "auth", "token": <access
token>}``; the server answers ``{"type": "ready", ...}``. A ``4401`` close (the token
expired) refreshes the token through the :class:`ApiClient` and reconnects; when the
refresh is refused the session is over (``on_expired``). ``4403`` (not a driver) stops.
Anything else (a server restart, the network gone) reconnects after a pause that doubles
from half a second up to 30 s (the offline queue's :class:`Backoff`, with its jitter), and
starts again from the first after a connection that got as far as ``ready``.

The socket factory, the pause and its jitter are injected, so this runs in tests against
a real server or a fake socket, with no Flutter client.
"""

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from app_kit.live_socket import (
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHORIZED,
    Connect,
    SocketClosedError,
    refreshed,
    socket_url,
    websocket,
)
from app_kit.observable import Observable
from driver_app.logic.sync_policy import Backoff
from shared.api_client import ApiClient

# Our own generator: the module-wide one is shared with everything else in the
# process (Hypothesis checks that nobody draws from it while it generates data).
_JITTER = random.Random()

log = logging.getLogger(__name__)

PATH = "/api/v1/drivers/me/ws"

# Phones cut off together do not all come back at the same instant (the jitter), and a
# driver whose signal returns waits at most half a minute for the live updates.
LIVE_BACKOFF = Backoff(first_s=0.5, max_s=30.0)


class LiveUpdates(Observable):
    """Keeps the driver socket open and calls ``on_update`` (a reload) when the day changed.

    ``connected`` says whether the socket is up (past ``ready``); ``retrying`` whether the
    last attempt failed and another is coming.
    """

    def __init__(
        self,
        client: ApiClient,
        *,
        on_update: Callable[[], Awaitable[None]],
        on_expired: Callable[[], None],
        connect: Connect = websocket,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = _JITTER.random,
        backoff: Backoff = LIVE_BACKOFF,
    ) -> None:
        super().__init__()
        self._client = client
        self._on_update = on_update
        self._on_expired = on_expired
        self._connect = connect
        self._sleep = sleep
        self._jitter = jitter
        self.backoff = backoff
        self._task: asyncio.Task[None] | None = None
        self._reload: asyncio.Task[None] | None = None
        self._reload_again = False
        self.connected = False
        self.retrying = False
        self.connections = 0  # sockets that reached "ready"

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Open the socket (after signing in); nothing when it is already running."""
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="driver-live-updates")

    def stop(self) -> None:
        """Close the socket and stop reconnecting (signing out)."""
        for task in (self._task, self._reload):
            if task is not None:
                task.cancel()
        self._task = self._reload = None
        self._reload_again = False
        self._set(connected=False, retrying=False)

    async def aclose(self) -> None:
        """:meth:`stop`, and wait until the socket is closed."""
        tasks = [t for t in (self._task, self._reload) if t is not None]
        self.stop()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _set(self, *, connected: bool, retrying: bool) -> None:
        if (self.connected, self.retrying) != (connected, retrying):
            self.connected, self.retrying = connected, retrying
            self.notify()

    def url(self) -> str:
        """The driver socket's address on the client's server (``ws://`` or ``wss://``)."""
        return socket_url(self._client.base_url, PATH)

    async def _run(self) -> None:
        failures = 0
        while True:
            reached = self.connections
            try:
                await self._listen()
            except SocketClosedError as closed:
                log.info("driver socket: %s", closed)
                if closed.code == CLOSE_FORBIDDEN:
                    self._set(connected=False, retrying=False)
                    return
                if closed.code == CLOSE_UNAUTHORIZED and not await refreshed(
                    self._client, self._on_expired
                ):
                    self._set(connected=False, retrying=False)
                    return
            # A socket that got as far as "ready" worked for a while: not a failing server.
            failures = 1 if self.connections > reached else failures + 1
            self._set(connected=False, retrying=True)
            await self._sleep(self.backoff.delay_s(failures, self._jitter()))

    async def _listen(self) -> None:
        """One socket, until it ends (always with :class:`SocketClosedError`)."""
        tokens = self._client.tokens
        if tokens is None:
            raise SocketClosedError(CLOSE_UNAUTHORIZED, "not signed in")
        async with self._connect(self.url()) as socket:
            await socket.send(json.dumps({"type": "auth", "token": tokens.access_token}))
            while True:
                kind = _kind(await socket.recv())
                if kind == "ready":
                    self.connections += 1
                    self._set(connected=True, retrying=False)
                    self._want_reload()  # whatever changed while the socket was down
                elif kind == "update":
                    self._want_reload()

    def _want_reload(self) -> None:
        self._reload_again = True
        if self._reload is None or self._reload.done():
            self._reload = asyncio.create_task(self._reloading(), name="driver-live-reload")

    async def _reloading(self) -> None:
        while self._reload_again:
            self._reload_again = False
            try:
                await self._on_update()
            except Exception:  # the reload reports its own failures; keep listening
                log.exception("reloading after a live update failed")


def _kind(text: str) -> Any:
    try:
        frame = json.loads(text)
    except ValueError:
        return None
    return frame.get("type") if isinstance(frame, dict) else None
