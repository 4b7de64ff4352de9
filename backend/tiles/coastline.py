"""Turn OSM coastline ways into sea polygons clipped to an extract's bounding box.

OSM has no sea polygon: ``natural=coastline`` ways run with land on their left and sea on
their right. Here the ways are joined end to end into chains; a closed chain is an island (or
a lake-like bay) ring; open chains are closed by walking the extract's bounding box clockwise
from where one chain leaves to where the next one enters. Pure: degrees in, rings out.
"""

from collections.abc import Sequence

Point = tuple[float, float]
"""(lng, lat) in WGS84 degrees; the y axis points north here."""
Box = tuple[float, float, float, float]
"""(west, south, east, north) in degrees."""


def join_ways(ways: Sequence[tuple[Sequence[int], Sequence[Point]]]) -> list[list[Point]]:
    """Join ways that share end nodes (by node id) into chains, keeping their direction."""
    chains: list[tuple[list[int], list[Point]]] = [(list(ids), list(pts)) for ids, pts in ways]
    merged = True
    while merged:
        merged = False
        by_start = {ids[0]: i for i, (ids, _) in enumerate(chains) if ids[0] != ids[-1]}
        for i, (ids, pts) in enumerate(chains):
            if ids[0] == ids[-1]:
                continue
            j = by_start.get(ids[-1])
            if j is None or j == i:
                continue
            next_ids, next_pts = chains[j]
            chains[i] = (ids + next_ids[1:], pts + next_pts[1:])
            del chains[j]
            merged = True
            break
    return [pts for _, pts in chains]


def _boundary_position(point: Point, box: Box) -> float:
    """Position of a point on the box outline, clockwise from the north-west corner, in
    [0, 4): 0-1 north edge (west to east), 1-2 east edge, 2-3 south edge, 3-4 west edge."""
    west, south, east, north = box
    lng, lat = point
    dist = (
        abs(lat - north),
        abs(lng - east),
        abs(lat - south),
        abs(lng - west),
    )
    edge = dist.index(min(dist))
    width, height = east - west, north - south
    if edge == 0:
        return (lng - west) / width
    if edge == 1:
        return 1 + (north - lat) / height
    if edge == 2:
        return 2 + (east - lng) / width
    return 3 + (lat - south) / height


def _boundary_point(position: float, box: Box) -> Point:
    west, south, east, north = box
    edge, frac = divmod(position % 4, 1.0)
    if edge == 0:
        return west + frac * (east - west), north
    if edge == 1:
        return east, north - frac * (north - south)
    if edge == 2:
        return east - frac * (east - west), south
    return west, south + frac * (north - south)


def _walk_clockwise(start: float, end: float, box: Box) -> list[Point]:
    """Boundary points from position ``start`` clockwise to ``end``, corners included."""
    if end <= start:
        end += 4
    points = [_boundary_point(start, box)]
    corner = float(int(start) + 1)
    while corner < end:
        points.append(_boundary_point(corner, box))
        corner += 1
    points.append(_boundary_point(end, box))
    return points


def sea_rings(chains: Sequence[Sequence[Point]], box: Box) -> list[list[Point]]:
    """Rings whose even-odd fill is the sea inside ``box``.

    Open chains are assumed to start and end near the box edge (an extract cuts the
    coastline there); each end is carried to the nearest point of the outline. Closed chains
    are returned as they are: filled even-odd on top of the sea they punch islands into it.
    """
    rings: list[list[Point]] = []
    open_chains = [list(c) for c in chains if len(c) >= 2 and c[0] != c[-1]]
    rings.extend(list(c) for c in chains if len(c) >= 4 and c[0] == c[-1])
    if not open_chains:
        return rings
    starts = [_boundary_position(c[0], box) for c in open_chains]
    ends = [_boundary_position(c[-1], box) for c in open_chains]
    unused = set(range(len(open_chains)))
    while unused:
        first = min(unused)
        current = first
        ring: list[Point] = []
        while True:
            unused.discard(current)
            ring.extend(open_chains[current])
            # the next chain to enter is the first start met walking clockwise from here
            candidates = [i for i in range(len(open_chains)) if i in unused or i == first]
            following = min(candidates, key=lambda i: (starts[i] - ends[current]) % 4 or 4.0)
            ring.extend(_walk_clockwise(ends[current], starts[following], box))
            if following == first:
                break
            current = following
        ring.append(ring[0])
        rings.append(ring)
    return rings
