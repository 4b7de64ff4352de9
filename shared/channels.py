"""Names of the real-time channels. Every publisher and subscriber builds names here."""


def org_channel(org_id: int) -> str:
    """Everything a dispatcher of organisation ``org_id`` watches."""
    return f"org:{org_id}"


def order_channel(order_id: int) -> str:
    """Updates about one order: what its tracking page listens to."""
    return f"order:{order_id}"


def driver_channel(driver_id: int) -> str:
    """Updates for one driver's app, forwarded by the driver socket
    (``/api/v1/drivers/me/ws``) as ``{"type": "update", "update": <message>}``. Messages:

    - ``{"type": "order_changed", "event_id", "order_id", "kind", "from_status",
      "to_status", "at"}``: an order that is (or just was) the driver's changed;
    - ``{"type": "route_changed", "route_id", "change", "service_date"}``: one of the
      driver's routes was created, updated or deleted (``change``), or taken from them;
    - ``{"type": "at_stop", "stop_id", "order_id", "kind", "arrived_at"}``: geofencing saw
      the driver arrive at a stop.
    """
    return f"driver:{driver_id}"


def fleet_positions_channel(org_id: int) -> str:
    """Coalesced driver positions of organisation ``org_id`` (dispatchers' live map)."""
    return f"org:{org_id}:positions"
