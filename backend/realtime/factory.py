from backend.config import Settings
from backend.realtime.broker import Broker


def create_broker(settings: Settings) -> Broker:
    """Redis when ``REDIS_URL`` is set, otherwise in-process."""
    if settings.redis_url:
        from backend.realtime.redis import RedisBroker

        return RedisBroker(settings.redis_url)
    from backend.realtime.memory import MemoryBroker

    return MemoryBroker()
