"""The whole driver app: signing in (or back in with the kept token), then today's stops,
kept live, with the driver's work queued on the phone and sent when the network allows."""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path

from app_kit.clock import local_timezone, utc_now
from app_kit.live_socket import Connect, websocket
from app_kit.observable import Observable
from app_kit.session import SessionState
from driver_app.logic.access import refusal
from driver_app.logic.actions import Action, FailureAction, ProofAction, TransitionAction
from driver_app.logic.fix_transport import MqttSetting
from driver_app.logic.route_map import map_stops, path_ahead
from driver_app.logic.stop_flow import parcel_homes
from driver_app.logic.stops import StopLine
from driver_app.services.label_reader import server_label_reader
from driver_app.services.location import LocationSource
from driver_app.services.outbox import ItemState, QueuedAction
from driver_app.services.tokens import KeptToken, TokenStore
from driver_app.state.live import LiveUpdates
from driver_app.state.offline import OfflineWork
from driver_app.state.route_map import RouteMapState
from driver_app.state.stop_flow import StopFlow
from driver_app.state.today import TodayState
from shared.api_client import ApiClient
from shared.enums import OrderStatus
from shared.schemas.auth import TokenPair

log = logging.getLogger(__name__)

TOKEN_READ_S = 10.0  # secure storage that never answers: the sign-in form, not a blank app


def outcome(action: Action) -> OrderStatus | None:
    """Where a queued action takes its order (None: it does not move it)."""
    match action:
        case ProofAction():
            return OrderStatus.DELIVERED
        case FailureAction():
            return OrderStatus.FAILED
        case TransitionAction(to=to):
            return to
        case _:
            return None


class DriverAppState(Observable):
    """Ties the session to the day's data and the driver's offline work.

    Signing in opens the driver's queue (``offline``: its sync loop and GPS), loads the day
    and opens the live updates; the GPS follows the shift. Signing out, or a session the
    server refuses, stops them (what is queued stays on the phone for the same driver's
    next sign-in). ``tokens`` keeps the refresh token so a closed app opens signed in.
    ``mqtt``: the app's default broker for the fixes (on the driver's organisation's topic;
    a driver may save their own), else HTTP.
    Notifies when ``offline`` opens or closes.
    """

    def __init__(
        self,
        client: ApiClient,
        *,
        data_dir: Path | None = None,
        location: Callable[[], LocationSource | None] = lambda: None,
        tokens: TokenStore | None = None,
        now: Callable[[], datetime] = utc_now,
        tz: tzinfo | None = None,
        connect: Connect = websocket,
        mqtt: MqttSetting | None = None,
    ) -> None:
        super().__init__()
        self._client = client
        self._data_dir = data_dir
        self._mqtt = mqtt
        self._location = location
        self.session = SessionState(client, refusal)
        self.today = TodayState(
            client, on_expired=self._expired, now=now, tz=tz or local_timezone()
        )
        self.today.subscribe(self._follow_shift)
        self.live = LiveUpdates(
            client, on_update=self._live_update, on_expired=self._expired, connect=connect
        )
        self.offline: OfflineWork | None = None
        self.stop_flow: StopFlow | None = None  # the stop the driver is at, when open
        self.route_map = RouteMapState(client)
        self.showing_map = False
        self._kept = KeptToken(tokens) if tokens is not None else None
        if self._kept is not None:
            client.on_tokens = self._keep_token
        self._unsubscribe: Callable[[], None] = lambda: None
        self._waiting_task: asyncio.Task[None] | None = None
        self._waiting_again = False
        self._answered: dict[int, OrderStatus] = {}  # accepted, not yet read back by a load
        self._signed_in = asyncio.Lock()
        self._closing: set[asyncio.Task[None]] = set()  # queues closing after a sign-out

    # --- signing in and out --------------------------------------------------------------
    async def start(self) -> None:
        """The app opened: sign back in with the kept token, if there is one."""
        if self._kept is None or self.session.signed_in:
            return
        try:
            token = await asyncio.wait_for(self._kept.store.load(), TOKEN_READ_S)
        except Exception:  # storage unavailable (a browser without crypto): sign in by hand
            log.warning("could not read the kept session token", exc_info=True)
            return
        if token is None:
            return
        if await self.session.resume(token):
            await self._begin()
        elif self.session.error is None:  # refused (expired, signed out elsewhere): forget it
            self._kept.keep(None)

    async def login(self, email: str, password: str) -> bool:
        """Sign in, open the driver's queue, load today's stops and listen for changes."""
        if not await self.session.login(email, password):
            return False
        await self._begin()
        return True

    async def _begin(self) -> None:
        async with self._signed_in:
            me = self.session.user
            if me is None:
                return
            if self._data_dir is not None and me.driver_id is not None and self.offline is None:
                try:
                    self.offline = await OfflineWork.open(
                        self._client,
                        self._data_dir,
                        me.driver_id,
                        location=self._location(),
                        on_expired=self._expired,
                        on_settled=self._settled,
                        mqtt=self._mqtt,
                        org_slug=me.org_slug,
                    )
                except Exception as exc:  # the phone's storage failed: say so, work online
                    log.exception("could not open the offline queue")
                    self.today.error = f"Your actions cannot be saved on this device: {exc}"
                else:
                    self._unsubscribe = self.offline.sync.subscribe(self._want_waiting)
                    self._want_waiting()
                self.notify()
            await self.today.load()
            if self.session.signed_in:
                self.live.start()
                self._follow_shift()

    def logout(self) -> None:
        self.showing_map = False
        self._stop_work()
        self.live.stop()
        self.session.logout()
        self.today.clear()
        if self._kept is not None:
            self._kept.keep(None)

    async def aclose(self) -> None:
        """The app is closing (its browser tab went away): close the socket and the queue
        (what is queued stays for the next start) and finish writing the kept token."""
        await self.live.aclose()
        await self._close_work()
        for closing in list(self._closing):
            with contextlib.suppress(Exception):
                await closing
        if self._kept is not None:
            await self._kept.settled()

    def _expired(self) -> None:
        """The server refused the session: back to sign-in, the queue kept for later."""
        self.live.stop()
        self._stop_work()
        if self._kept is not None:
            self._kept.keep(None)
        if self.session.signed_in:
            self.session.expire()
            self.today.clear()

    def _keep_token(self, tokens: TokenPair) -> None:
        if self._kept is not None:
            self._kept.keep(tokens.refresh_token)

    @property
    def position(self) -> tuple[float, float] | None:
        """The phone's last position (for a proof's GPS check), None without GPS."""
        gps = self.offline.gps if self.offline is not None else None
        return gps.last_position if gps is not None else None

    # --- the map ---------------------------------------------------------------------------
    async def toggle_map(self) -> None:
        """Between the list of stops and the map of the day (the road path read on opening)."""
        self.showing_map = not self.showing_map
        self.notify()
        if self.showing_map:
            await self.refresh_map()

    async def refresh_map(self) -> None:
        stops = map_stops(self.today.lines, self.today.next_index)
        await self.route_map.load(path_ahead(stops, self.position))

    # --- at a stop -----------------------------------------------------------------------
    def open_stop(self, line: StopLine) -> None:
        """The driver is at ``line``'s stop: arrive, scan, proof, done (all queued)."""
        if self.offline is None:
            return  # no queue on this device: the strip says why
        self.stop_flow = StopFlow(
            line,
            submit=self.offline.sync.submit,
            scan_label=server_label_reader(self._client),
            position=lambda: self.position,
            on_finished=self._stop_finished,
            on_close=self.close_stop,
            parcel_homes=parcel_homes(self.today.lines),
        )
        self.notify()

    def close_stop(self) -> None:
        if self.stop_flow is not None:
            self.stop_flow = None
            self.notify()

    def _stop_finished(self, order_id: int, status: OrderStatus) -> None:
        """Done at the stop: the next one comes up now, whatever the network."""
        self.today.set_waiting({**self.today.waiting, order_id: status})
        self.close_stop()

    # --- the queue, the GPS and the day ---------------------------------------------------
    def _stop_work(self) -> None:
        """Stop sending and the GPS now; the file is closed in the background."""
        self.stop_flow = None
        self._answered.clear()
        work, self.offline = self.offline, None
        if work is None:
            return
        self._unsubscribe()
        work.sync.stop()
        if work.gps is not None:
            work.gps.stop()
        closing = asyncio.create_task(work.aclose(), name="driver-offline-close")
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)
        self.notify()

    async def _close_work(self) -> None:
        work, self.offline = self.offline, None
        if work is not None:
            self._unsubscribe()
            await work.aclose()

    def _follow_shift(self) -> None:
        """GPS on while on shift, off (its last fixes flushed) when the shift ends."""
        if self.offline is not None and self.today.driver is not None:
            self.offline.follow_shift(self.today.driver.status)

    async def _live_update(self) -> None:
        """The socket (re)connected or something changed: the network is back, so the
        queue stops waiting out its pause; then reload the day."""
        if self.offline is not None:
            self.offline.sync.retry_now()
        await self.today.load()

    async def _settled(self, item: QueuedAction) -> None:
        """The server answered an action (accepted, or refused for a conflict): reload.
        An accepted action keeps showing until a reload has read the server's side of it
        (the signal may go before that reload gets through)."""
        status = outcome(item.action) if item.state is ItemState.DONE else None
        if status is not None:
            self._answered[item.action.order_id] = status
        answered = dict(self._answered)
        self._want_waiting()
        await self.today.load()
        if self.today.error is None:
            for order_id, shown in answered.items():
                if self._answered.get(order_id) is shown:
                    del self._answered[order_id]
        self._want_waiting()

    def _want_waiting(self) -> None:
        """The queue changed: show what waits in it on the stops (one read at a time)."""
        self._waiting_again = True
        if self._waiting_task is None or self._waiting_task.done():
            self._waiting_task = asyncio.create_task(self._read_waiting(), name="driver-waiting")

    async def _read_waiting(self) -> None:
        while self._waiting_again and self.offline is not None:
            self._waiting_again = False
            sync = self.offline.sync
            with contextlib.suppress(Exception):  # a closed queue: nothing waits any more
                queued = await sync.pending_actions()
                outcomes: dict[int, OrderStatus] = dict(self._answered)
                for item in queued:
                    status = outcome(item.action)
                    if status is not None:
                        outcomes[item.action.order_id] = status
                if self.offline is not None and self.offline.sync is sync:
                    self.today.set_waiting(outcomes)
