from backend.config import Settings
from backend.coordination import Leases


def create_leases(settings: Settings) -> Leases:
    """In Redis when ``REDIS_URL`` is set (shared by every worker), otherwise in-process."""
    if settings.redis_url:
        from backend.coordination.redis import RedisLeases

        return RedisLeases(settings.redis_url)
    from backend.coordination.memory import MemoryLeases

    return MemoryLeases()
