"""The cache of signed-in callers: it may save a query, never let a revoked token in."""

from backend.auth.principal import Principal
from backend.auth.principal_cache import PrincipalCache
from shared.enums import Role

ADMIN = Principal(user_id=1, org_id=7, role=Role.ADMIN, driver_id=None)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_hit_until_the_entry_expires() -> None:
    clock = Clock()
    cache = PrincipalCache(ttl_s=30, clock=clock, spread=0)
    cache.put(ADMIN, token_version=0)
    assert cache.get(1, 0) == ADMIN
    clock.now += 29.9
    assert cache.get(1, 0) == ADMIN
    clock.now += 0.2
    assert cache.get(1, 0) is None


def test_entries_cached_together_expire_spread_out() -> None:
    clock = Clock()
    cache = PrincipalCache(ttl_s=30, clock=clock)
    users = [Principal(user_id=i, org_id=7, role=Role.ADMIN, driver_id=None) for i in range(1, 401)]
    for user in users:
        cache.put(user, token_version=0)
    clock.now += 22.4  # before 0.75 x ttl: every entry still there
    assert all(cache.get(u.user_id, 0) == u for u in users)
    gone_by = []
    for step in range(1, 9):  # then they expire a few at a time, all by ttl
        clock.now = 100 + 22.5 + step * 7.5 / 8
        gone_by.append(sum(1 for u in users if cache.get(u.user_id, 0) is None))
    assert gone_by[-1] == 400
    assert max(b - a for a, b in zip([0, *gone_by], gone_by, strict=False)) < 100


def test_another_token_version_is_a_miss() -> None:
    cache = PrincipalCache()
    cache.put(ADMIN, token_version=3)
    assert cache.get(1, 2) is None
    assert cache.get(1, 3) is None  # the mismatch dropped the entry: the next look is fresh


def test_sign_out_is_not_undone_by_a_read_from_before_it() -> None:
    cache = PrincipalCache()
    cache.put(ADMIN, token_version=0)
    cache.revoke_below(1, 1)
    assert cache.get(1, 0) is None
    cache.put(ADMIN, token_version=0)  # a request that read the user before the commit
    assert cache.get(1, 0) is None
    cache.put(ADMIN, token_version=1)
    assert cache.get(1, 1) == ADMIN


def test_drivers_without_a_profile_are_not_cached() -> None:
    cache = PrincipalCache()
    cache.put(Principal(2, 7, Role.DRIVER, None), token_version=0)
    assert cache.get(2, 0) is None
    cache.put(Principal(2, 7, Role.DRIVER, 5), token_version=0)
    assert cache.get(2, 0) == Principal(2, 7, Role.DRIVER, 5)


def test_size_is_bounded_oldest_out_first() -> None:
    cache = PrincipalCache(max_entries=2)
    for user_id in (1, 2, 3):
        cache.put(Principal(user_id, 7, Role.ADMIN, None), token_version=0)
    assert cache.get(1, 0) is None
    assert cache.get(3, 0) is not None
