"""Recently seen callers, so an authenticated request needs no database round trip.

Every request used to load the user (and the driver profile) to check the token's version;
on SQLite each query is a thread hop of ~0.4-0.8 ms here, several per request, which capped
location ingest at well under 1,000 requests/s. An entry lives ``ttl_s`` seconds: signing
out drops the user's entry in this process at once (other worker processes notice within
``ttl_s``), and a token whose version differs from the cached one always goes to the database.
"""

import time
from collections import OrderedDict
from collections.abc import Callable

from backend.auth.principal import Principal
from shared.enums import Role

DEFAULT_TTL_S = 30.0


class PrincipalCache:
    def __init__(
        self,
        ttl_s: float = DEFAULT_TTL_S,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
        spread: float = 0.25,
    ) -> None:
        self._ttl_s = ttl_s
        # Entries cached in one burst (every driver's phone reconnecting after a restart) must
        # not all expire in the same instant and send a burst of sign-in queries every
        # ``ttl_s``: each user's entry lives between (1 - spread) x ttl_s and ttl_s, fixed
        # per user so it is the same on every worker.
        self._spread = spread
        self._max = max_entries
        self._clock = clock
        # user id -> (principal, token version, expires at on the clock)
        self._entries: OrderedDict[int, tuple[Principal, int, float]] = OrderedDict()
        # user id -> lowest token version still valid (set by signing out)
        self._floors: dict[int, int] = {}

    def get(self, user_id: int, token_version: int) -> Principal | None:
        entry = self._entries.get(user_id)
        if entry is None:
            return None
        principal, version, expires_at = entry
        if version != token_version or expires_at <= self._clock():
            del self._entries[user_id]
            return None
        return principal

    def put(self, principal: Principal, token_version: int) -> None:
        if principal.role is Role.DRIVER and principal.driver_id is None:
            return  # the driver profile may be created any moment: look again next time
        if token_version < self._floors.get(principal.user_id, 0):
            return  # read before a sign-out committed: never cache the old version
        self._entries[principal.user_id] = (
            principal,
            token_version,
            self._clock() + self.lifetime_s(principal.user_id),
        )
        self._entries.move_to_end(principal.user_id)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def lifetime_s(self, user_id: int) -> float:
        """How long ``user_id``'s entry lives: within the last ``spread`` of ``ttl_s``."""
        fraction = (user_id * 2_654_435_761 % 4_294_967_296) / 4_294_967_296  # well mixed
        return self._ttl_s * (1.0 - self._spread * fraction)

    def drop(self, user_id: int | None) -> None:
        if user_id is not None:
            self._entries.pop(user_id, None)

    def revoke_below(self, user_id: int, token_version: int) -> None:
        """Sign-out: versions below ``token_version`` are never served from here again."""
        self._floors[user_id] = max(token_version, self._floors.get(user_id, 0))
        self.drop(user_id)
