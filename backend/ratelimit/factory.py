from backend.config import Settings
from backend.ratelimit import Limiter


def create_limiter(settings: Settings, scope: str, per_minute: float, burst: float) -> Limiter:
    """In Redis when ``REDIS_URL`` is set (shared by every worker), otherwise in-process;
    ``scope`` keeps one limit's keys apart from another's."""
    if settings.redis_url:
        from backend.ratelimit.redis import RedisLimiter

        return RedisLimiter(settings.redis_url, scope, per_minute, burst)
    from backend.ratelimit.memory import MemoryLimiter

    return MemoryLimiter(per_minute, burst)
