"""Which part of the dispatcher app is on screen, and what was picked to look at."""

from enum import StrEnum

from app_kit.observable import Observable


class Section(StrEnum):
    MAP = "map"
    ORDERS = "orders"
    PLAN = "plan"
    EXCEPTIONS = "exceptions"
    KPIS = "kpis"


SECTION_LABELS: dict[Section, str] = {
    Section.MAP: "Live map",
    Section.ORDERS: "Orders",
    Section.PLAN: "Plan",
    Section.EXCEPTIONS: "Exceptions",
    Section.KPIS: "KPIs",
}


class Navigation(Observable):
    """The section on screen; other parts of the app move it (a stop on the map opens its
    order in the grid, an exception opens its driver on the map)."""

    def __init__(self) -> None:
        super().__init__()
        self.section = Section.MAP

    def go(self, section: Section) -> None:
        if section is not self.section:
            self.section = section
            self.notify()

    def reset(self) -> None:
        self.section = Section.MAP
        self.notify()
