"""The orders grid's filter choices in words, and the day ranges they stand for."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from shared.schemas.fleet import DriverOut
from shared.schemas.zones import ZoneOut

# The driver filter's value for "orders on no driver".
UNASSIGNED_KEY = "unassigned"
ANY_KEY = "all"


class WindowChoice(StrEnum):
    """The window filter's presets (``RANGE``: the dispatcher's own dates)."""

    ANY = "any"
    TODAY = "today"
    TOMORROW = "tomorrow"
    NEXT_7_DAYS = "next_7_days"
    RANGE = "range"


WINDOW_LABELS: dict[WindowChoice, str] = {
    WindowChoice.ANY: "Any day",
    WindowChoice.TODAY: "Today",
    WindowChoice.TOMORROW: "Tomorrow",
    WindowChoice.NEXT_7_DAYS: "Next 7 days",
    WindowChoice.RANGE: "Dates…",
}


class SortChoice(StrEnum):
    """The grid's orderings, as the API's ``sort`` values."""

    NEWEST = "-created_at"
    OLDEST = "created_at"
    WINDOW = "window_start"
    PRIORITY = "-priority"
    REFERENCE = "reference"
    STATUS = "status"


SORT_LABELS: dict[SortChoice, str] = {
    SortChoice.NEWEST: "Newest first",
    SortChoice.OLDEST: "Oldest first",
    SortChoice.WINDOW: "Earliest window",
    SortChoice.PRIORITY: "Most urgent",
    SortChoice.REFERENCE: "Reference",
    SortChoice.STATUS: "Status",
}


@dataclass(frozen=True, slots=True)
class DayRange:
    """Local days ``first`` to ``last``, both included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the last day comes before the first")

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """From the first day's midnight to the next midnight after the last, in UTC."""
        start = datetime.combine(self.first, time(), tzinfo=tz)
        end = datetime.combine(self.last + timedelta(days=1), time(), tzinfo=tz)
        return start.astimezone(UTC), end.astimezone(UTC)

    def label(self) -> str:
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()} to {self.last.isoformat()}"


def preset_days(choice: WindowChoice, today: date) -> DayRange | None:
    """The days a preset stands for (None: any day; ``RANGE`` has no preset days)."""
    if choice is WindowChoice.TODAY:
        return DayRange(today, today)
    if choice is WindowChoice.TOMORROW:
        tomorrow = today + timedelta(days=1)
        return DayRange(tomorrow, tomorrow)
    if choice is WindowChoice.NEXT_7_DAYS:
        return DayRange(today, today + timedelta(days=6))
    return None


def driver_choices(drivers: list[DriverOut]) -> list[tuple[str, str]]:
    """(key, label) of the driver filter: every driver, no driver, then each by name."""
    return [
        (ANY_KEY, "All drivers"),
        (UNASSIGNED_KEY, "Unassigned"),
        *((str(d.id), d.name) for d in drivers),
    ]


def zone_choices(zones: list[ZoneOut]) -> list[tuple[str, str]]:
    """(key, label) of the zone filter: anywhere, then each zone by name."""
    ordered = sorted(zones, key=lambda z: (z.name.casefold(), z.id))
    return [(ANY_KEY, "All zones"), *((str(z.id), z.name) for z in ordered)]


def selection_label(selected: int, loaded: int) -> str:
    if not selected:
        return "None selected"
    return f"{selected} of {loaded} selected"


def parse_day_range(first: str, last: str) -> DayRange | str:
    """Two typed dates (YYYY-MM-DD; an empty last: the first day alone) as days, or why not."""
    try:
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if last.strip() else start
    except ValueError:
        return "Dates are written YYYY-MM-DD, e.g. 2031-03-14."
    if end < start:
        return "The last day comes before the first."
    return DayRange(start, end)
