"""``GET /kpis``: how the deliveries of a range of days went, per day and in total."""

from datetime import date

from shared.schemas.common import OutModel


class KpiFigures(OutModel):
    """Counts and the rates made from them (a rate is None when nothing was counted).

    - on time: delivered inside the drop-off's window (its current one: a rescheduled
      order is judged by its new window); deliveries without a window are not counted;
    - first attempt: orders whose first attempt (delivered or failed) fell in the period,
      and how many of those were delivered then;
    - stops per driver hour: the drivers' delivered and failed stops over the hours they
      worked (see ``driver_hours``);
    - distance, metres: ``planned_distance_m`` along the roads through each route's stops
      in their order; ``actual_distance_m`` along the GPS track of the same drivers on
      the same days;
    - tracking page: visits of customers' tracking pages (one visit per customer device
      and link, however often the page re-reads, until it is left alone 30 minutes), the
      orders they were about, and visits per such order."""

    delivered: int = 0
    delivered_with_window: int = 0
    on_time: int = 0
    on_time_rate: float | None = None
    first_attempts: int = 0
    first_attempt_successes: int = 0
    first_attempt_rate: float | None = None
    attempts: int = 0
    driver_hours: float = 0.0
    stops_per_driver_hour: float | None = None
    routes: int = 0
    planned_distance_m: float = 0.0
    actual_distance_m: float = 0.0
    track_views: int = 0
    viewed_orders: int = 0
    views_per_order: float | None = None


class KpiDay(KpiFigures):
    day: date


class ViewedOrder(OutModel):
    order_id: int
    reference: str | None
    views: int


class KpiReport(OutModel):
    date_from: date
    date_to: date
    tz: str
    days: list[KpiDay]
    totals: KpiFigures
    most_viewed: list[ViewedOrder]  # the orders whose page was visited most, up to 5
    distance_estimated: bool  # some planned distance is a straight-line estimate
    notes: list[str]  # approximations that apply to these figures
