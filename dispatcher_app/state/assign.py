"""Assigning, reassigning and reordering: the change is previewed (each stop's arrival
before and after, the windows it misses) and only published to the driver on request."""

from collections.abc import Awaitable, Callable

from app_kit.loading import ServerState
from dispatcher_app.logic.assign import moved, open_stops
from shared.api_client import ApiClient
from shared.schemas.optimization import ChangeCreate, ChangeOut, SequenceIn


class AssignState(ServerState):
    """The change being prepared: orders to give to a driver, and/or a driver's stops in a
    new order. Every edit asks the server for a fresh preview; :meth:`publish` applies it."""

    def __init__(
        self,
        client: ApiClient,
        *,
        on_expired: Callable[[], None],
        on_published: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(client, on_expired=on_expired)
        self._on_published = on_published
        self.clear()

    def clear(self) -> None:
        self._forget_reads()
        self.order_ids: list[int] = []
        self.resolves: str | None = None  # the inbox item this change deals with
        self.driver_id: int | None = None
        self.sequences: dict[int, list[int]] = {}  # driver -> open stops, once reordered
        self.preview: ChangeOut | None = None
        self.published: ChangeOut | None = None
        self.error = None
        self.notify()

    @property
    def active(self) -> bool:
        """A change is being prepared (orders picked, or a route opened)."""
        return bool(self.order_ids) or self.driver_id is not None

    @property
    def can_publish(self) -> bool:
        return self.preview is not None and not self.loading and self.published is None

    def start(self, order_ids: list[int], *, resolves: str | None = None) -> None:
        """Begin giving ``order_ids`` to a driver, still to be chosen; ``resolves``: the
        inbox item marked resolved once the change is published."""
        self.clear()
        self.order_ids = list(dict.fromkeys(order_ids))
        self.resolves = resolves
        self.notify()

    async def choose_driver(self, driver_id: int) -> None:
        """Who takes the orders (or whose route is edited): previews the change at once."""
        self.driver_id = driver_id
        self.sequences = {}
        self.published = None
        await self.refresh()

    async def open_driver(self, driver_id: int) -> None:
        """Edit ``driver_id``'s route of the day: shows it as it is, ready to reorder."""
        self.clear()
        await self.choose_driver(driver_id)

    async def move(self, driver_id: int, stop_id: int, step: int) -> None:
        """Move an open stop of ``driver_id``'s route up (-1) or down (+1), then preview."""
        if self.preview is None:
            return
        route = next((r for r in self.preview.routes if r.driver_id == driver_id), None)
        order = moved(route, stop_id, step) if route is not None else None
        if order is None:
            return
        self.sequences[driver_id] = order
        self.published = None
        await self.refresh()

    def _note(self) -> str:
        route = next(
            (
                r
                for r in (self.published.routes if self.published else [])
                if r.driver_id == self.driver_id
            ),
            None,
        )
        where = f"route #{route.route_id}" if route and route.route_id else "a new route"
        return f"reassigned to driver {self.driver_id} ({where})"

    def request(self, *, apply: bool) -> ChangeCreate | None:
        if self.driver_id is None and not self.sequences:
            return None
        return ChangeCreate(
            order_ids=self.order_ids,
            driver_id=self.driver_id,
            sequences=[SequenceIn(driver_id=d, stop_ids=ids) for d, ids in self.sequences.items()],
            apply=apply,
        )

    async def refresh(self) -> None:
        """Preview the change as it now stands."""
        change = self.request(apply=False)
        if change is None:
            return
        got = await self._read(lambda: self._client.change_routes(change))
        if got is None:
            return
        self.preview = got.value
        self.notify()

    async def publish(self) -> bool:
        """Apply the previewed change: the orders change hands and the drivers' apps get
        their new routes. False (with ``error``) when the server refused it."""
        change = self.request(apply=True)
        if change is None or self.preview is None:
            return False
        if self.driver_id is not None and self.driver_id not in self.sequences:
            # Publish exactly the order previewed (a new order is placed the same way
            # again, unless the day changed meanwhile: then the server says so).
            self.sequences[self.driver_id] = open_stops(self.preview.routes, self.driver_id)
            change = self.request(apply=True)
            assert change is not None
        got = await self._read(lambda: self._client.change_routes(change))
        if got is None:
            return False
        self.preview = self.published = got.value
        self.notify()
        if self.resolves is not None and self.driver_id is not None:
            key, self.resolves = self.resolves, None
            await self._read(lambda: self._client.resolve_exception(key, self._note()))
            self.notify()
        if self._on_published is not None:
            await self._on_published()
        return True
