"""A uniform grid over lat/lng: which fences may contain a point, in a dict lookup or two.

A fence is filed under every cell its bounding box touches, in a *scope*: whom it concerns
(the engine's scopes are one driver, for the stops of their route, or one organisation,
for its depots and zones). A query for a driver reads the point's cell in the driver's
scope and in their organisation's, so the cost of a check grows neither with the city's
fences nor with other drivers' stops nor with other organisations' zones.
"""

import math
from collections.abc import Hashable, Iterable

from shared.geo import BBox

Cell = tuple[int, int]


class Grid[K: Hashable, S: Hashable]:
    """Keys ``K`` filed by cell within scopes ``S``."""

    def __init__(self, cell_deg: float = 0.005) -> None:
        if not cell_deg > 0:
            raise ValueError("a grid cell needs a size above 0")
        self.cell_deg = cell_deg
        self._cells: dict[tuple[S, int, int], set[K]] = {}
        self._filed: dict[K, list[tuple[S, int, int]]] = {}

    def cell(self, lat: float, lng: float) -> Cell:
        size = self.cell_deg
        return math.floor(lat / size), math.floor(lng / size)

    def _cells_of(self, box: BBox) -> Iterable[Cell]:
        low_lat, low_lng = self.cell(box.min_lat, box.min_lng)
        high_lat, high_lng = self.cell(box.max_lat, box.max_lng)
        for i in range(low_lat, high_lat + 1):
            for j in range(low_lng, high_lng + 1):
                yield i, j

    def add(self, key: K, box: BBox, scope: S) -> None:
        """File ``key`` under ``box`` in ``scope`` (again: its old filing is replaced)."""
        self.remove(key)
        slots = [(scope, i, j) for i, j in self._cells_of(box)]
        for slot in slots:
            self._cells.setdefault(slot, set()).add(key)
        self._filed[key] = slots

    def remove(self, key: K) -> None:
        for slot in self._filed.pop(key, ()):
            keys = self._cells[slot]
            keys.discard(key)
            if not keys:
                del self._cells[slot]

    def any_under(self, scopes: Iterable[S], box: BBox, max_cells: int) -> bool | None:
        """Whether anything is filed in ``scopes`` under a cell of ``box``; None (don't
        know) when the box spans more than ``max_cells`` cells (too costly to walk)."""
        low_lat, low_lng = self.cell(box.min_lat, box.min_lng)
        high_lat, high_lng = self.cell(box.max_lat, box.max_lng)
        if (high_lat - low_lat + 1) * (high_lng - low_lng + 1) > max_cells:
            return None
        wanted = tuple(scopes)
        cells = self._cells
        for i in range(low_lat, high_lat + 1):  # plain loops: this runs for every batch
            for j in range(low_lng, high_lng + 1):
                for scope in wanted:
                    if (scope, i, j) in cells:
                        return True
        return False

    def at(self, scope: S, cell: Cell) -> set[K] | None:
        """The keys filed in ``scope`` under ``cell`` (a superset of the fences holding
        any point of that cell), or None."""
        return self._cells.get((scope, cell[0], cell[1]))

    def __len__(self) -> int:
        return len(self._filed)
