"""Load the unfinished stops of drivers' routes today, for their fences.

The same routes and the same "finished" rule as the customers' visibility
(:mod:`backend.locations.visibility`): today's routes that are not completed; a stop is
finished once its order left the state the stop serves, or the driver departed from it.
"""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from backend.geofencing.route_fences import OpenStop
from backend.locations import visibility
from backend.models import Order, Route, Stop
from shared.enums import OrderStatus, RouteStatus, StopKind

_CHUNK = 500  # drivers per IN (...) list


async def load_open_stops(
    engine: AsyncEngine, driver_ids: Iterable[int]
) -> dict[int, list[OpenStop]]:
    """Each of ``driver_ids`` with its unfinished stops today (an empty list: none)."""
    ids = sorted(set(driver_ids))
    out: dict[int, list[OpenStop]] = {driver_id: [] for driver_id in ids}
    service_date = visibility.today().date()
    async with engine.connect() as conn:
        for start in range(0, len(ids), _CHUNK):
            rows = await conn.execute(
                select(
                    col(Route.driver_id),
                    col(Stop.id),
                    col(Stop.order_id),
                    col(Stop.kind),
                    col(Stop.lat),
                    col(Stop.lng),
                    col(Stop.arrival_radius_m),
                    col(Stop.actual_departure_at),
                    col(Order.status),
                )
                .join(Stop, col(Stop.route_id) == col(Route.id))
                .join(Order, col(Order.id) == col(Stop.order_id))
                .where(
                    col(Route.driver_id).in_(ids[start : start + _CHUNK]),
                    col(Route.service_date) == service_date,
                    col(Route.status) != RouteStatus.COMPLETED,
                )
                .order_by(col(Route.id), col(Stop.sequence))
            )
            for row in rows.all():
                driver_id, stop_id, order_id, kind, lat, lng, radius, departed, status = row
                route_stop = visibility.RouteStop(
                    order_id, StopKind(kind), OrderStatus(status), departed is not None
                )
                if driver_id is None or stop_id is None or visibility.stop_finished(route_stop):
                    continue
                out[driver_id].append(
                    OpenStop(stop_id, order_id, StopKind(kind), lat, lng, arrival_m=radius)
                )
    return out
