"""Names of the real-time channels. Every publisher and subscriber builds names here."""


def org_channel(org_id: int) -> str:
    """Everything a dispatcher of organisation ``org_id`` watches."""
    return f"org:{org_id}"


def order_channel(order_id: int) -> str:
    """Updates about one order: what its tracking page listens to."""
    return f"order:{order_id}"


def driver_channel(driver_id: int) -> str:
    """Updates for one driver's app (route changes, messages)."""
    return f"driver:{driver_id}"


def fleet_positions_channel(org_id: int) -> str:
    """Coalesced driver positions of organisation ``org_id`` (dispatchers' live map)."""
    return f"org:{org_id}:positions"
