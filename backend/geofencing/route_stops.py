"""Load the unfinished stops of drivers' routes today, for their fences.

The same routes and the same "finished" rule as the customers' visibility
(:mod:`backend.locations.visibility`): today's routes that are not completed; a stop is
finished once its order left the state the stop serves, or the driver departed from it.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from backend.geofencing.route_fences import OpenStop
from backend.locations import visibility
from backend.models import Order, Route, Stop
from backend.sql_lists import padded
from shared.enums import OrderStatus, RouteStatus, StopKind

_CHUNK = 500  # drivers per IN (...) list
# Built once, the driver ids and the day bound at each call: ``in_()`` over a list clones
# its bind parameter into a reference cycle, and this runs every few seconds (see
# ``backend/heap.py`` on why cycles should not be made on a steady path).
_OPEN_STOPS = (
    select(
        col(Route.driver_id),
        col(Route.id),
        col(Stop.id),
        col(Stop.order_id),
        col(Stop.kind),
        col(Stop.lat),
        col(Stop.lng),
        col(Stop.arrival_radius_m),
        col(Stop.service_time_s),
        col(Stop.window_start),
        col(Stop.window_end),
        col(Stop.actual_arrival_at),
        col(Stop.actual_departure_at),
        col(Order.status),
    )
    .join(Stop, col(Stop.route_id) == col(Route.id))
    .join(Order, col(Order.id) == col(Stop.order_id))
    .where(
        col(Route.driver_id).in_(bindparam("ids", expanding=True)),
        col(Route.service_date) == bindparam("service_date"),
        col(Route.status) != RouteStatus.COMPLETED,
    )
    .order_by(col(Route.id), col(Stop.sequence))
)


@dataclass(slots=True)
class DriverDay:
    """A driver's route today as live tracking needs it."""

    stops: list[OpenStop] = field(default_factory=list)  # unfinished, in route order
    departed: dict[int, float] = field(default_factory=dict)  # finished stop -> when left


def _epoch(at: datetime | None) -> float | None:
    return at.timestamp() if at is not None else None


async def load_open_stops(engine: AsyncEngine, driver_ids: Iterable[int]) -> dict[int, DriverDay]:
    """Each of ``driver_ids`` with its stops today (empty: no route today)."""
    ids = sorted(set(driver_ids))
    out: dict[int, DriverDay] = {driver_id: DriverDay() for driver_id in ids}
    service_date = visibility.today().date()
    async with engine.connect() as conn:
        for start in range(0, len(ids), _CHUNK):
            chunk = padded(ids[start : start + _CHUNK])
            rows = await conn.execute(_OPEN_STOPS, {"ids": chunk, "service_date": service_date})
            for row in rows.all():
                (driver_id, route_id, stop_id, order_id, kind, lat, lng, radius, service_s,
                 window_start, window_end, arrived, departed, status) = row  # fmt: skip
                if stop_id is None:
                    continue
                status = OrderStatus(status)
                route_stop = visibility.RouteStop(
                    order_id, StopKind(kind), status, departed is not None
                )
                day = out[driver_id]
                if visibility.stop_finished(route_stop):
                    if departed is not None:
                        day.departed[stop_id] = departed.timestamp()
                    continue
                day.stops.append(
                    OpenStop(
                        stop_id,
                        order_id,
                        StopKind(kind),
                        lat,
                        lng,
                        arrival_m=radius,
                        order_status=status,
                        route_id=route_id,
                        service_s=float(service_s),
                        window_start=_epoch(window_start),
                        window_end=_epoch(window_end),
                        arrived_at=_epoch(arrived),
                    )
                )
    return out
