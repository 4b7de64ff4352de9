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
    - stops per driver day: the same stops over ``driver_days``, the (driver, local day)
      pairs with at least one such stop;
    - route time, seconds: over ``timed_routes``, the published routes with two or more
      stops both planned (an arrival time) and done (an arrival recorded), from the first
      of those stops to the last: ``planned_duration_s`` by the planned arrivals,
      ``actual_duration_s`` by the recorded ones; ``duration_ratio`` is actual / planned;
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
    driver_days: int = 0
    stops_per_driver_day: float | None = None
    timed_routes: int = 0
    planned_duration_s: float = 0.0
    actual_duration_s: float = 0.0
    duration_ratio: float | None = None
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


class KpiDriverDay(OutModel):
    """One driver's local day: stops reported (delivered + failed) and route time."""

    day: date
    stops: int
    delivered: int
    failed: int
    timed_routes: int = 0
    planned_duration_s: float = 0.0
    actual_duration_s: float = 0.0


class KpiDriver(OutModel):
    """One driver over the range; ``days`` lists only the days they worked (a stop
    reported or a route timed). ``stops_per_day`` is ``stops`` over the days with stops."""

    driver_id: int
    name: str
    days_with_stops: int
    stops: int
    delivered: int
    failed: int
    stops_per_day: float | None
    timed_routes: int
    planned_duration_s: float
    actual_duration_s: float
    duration_ratio: float | None  # actual / planned
    days: list[KpiDriverDay]


class KpiDriverReport(OutModel):
    date_from: date
    date_to: date
    tz: str
    drivers: list[KpiDriver]  # by name
    notes: list[str]


class KpiWindow(OutModel):
    """Deliveries whose drop-off window had this local slot (``starts``-``ends``, times of
    day in the report's zone): inside it (``on_time``), before it opened (``early``) or
    after it closed (``late``, by ``late_minutes_avg`` on average)."""

    slot: str  # "08:00-10:00"
    starts: str  # "08:00"
    ends: str  # "10:00"
    delivered: int
    on_time: int
    early: int
    late: int
    on_time_rate: float | None
    late_minutes_avg: float | None


class KpiWindowReport(OutModel):
    """SLA adherence per drop-off window slot over the range's deliveries (by the time
    they were delivered); ``without_window`` deliveries had none and are in no slot."""

    date_from: date
    date_to: date
    tz: str
    windows: list[KpiWindow]  # by slot
    delivered: int
    without_window: int
    notes: list[str]
