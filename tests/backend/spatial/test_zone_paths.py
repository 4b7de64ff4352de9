"""``GET /orders?zone_id=`` finds the same orders in PostGIS as in Python: random polygons
(concave ones too) and corridors, with dropoffs anywhere, on the border, and a few
centimetres to metres either side of it."""

import asyncio
import math
from dataclasses import dataclass

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.geofencing.org_fences import OrgZone, zone_shape
from backend.geofencing.shapes import M_PER_DEG_LAT, Corridor, Plane, Polygon, as_points
from backend.models import Order, Organization, Stop, Zone
from backend.orders.zone_filter import orders_dropping_off_in
from shared.enums import StopKind, ZoneKind
from shared.geo import Point
from shared.schemas.zones import outline_problem
from tests.backend.spatial.conftest import PostgisDb

LatLng = tuple[float, float]


@dataclass(frozen=True)
class Case:
    zone: Zone
    dropoffs: list[LatLng]
    on_border: list[LatLng]  # drawn on an edge: held on both paths


def _to_lat_lng(plane: Plane, x: float, y: float) -> LatLng:
    return plane.origin.lat + y / M_PER_DEG_LAT, plane.origin.lng + x / plane.m_per_deg_lng


@st.composite
def cases(draw: st.DrawFn) -> Case:
    origin = Point(draw(st.floats(-60, 60)), draw(st.floats(-170, 170)))
    plane = Plane.at(origin)
    kind = draw(st.sampled_from([ZoneKind.ZONE, ZoneKind.CORRIDOR]))
    width_m: float | None = None
    if kind is ZoneKind.ZONE:  # star-shaped around the origin: simple, often concave
        n = draw(st.integers(3, 10))
        angles = sorted(
            draw(st.lists(st.floats(0, 2 * math.pi, exclude_max=True), min_size=n, max_size=n))
        )
        radii = draw(st.lists(st.floats(30, 3000), min_size=n, max_size=n))
        xy = [(r * math.cos(a), r * math.sin(a)) for a, r in zip(angles, radii, strict=True)]
    else:  # a walk of 1 to 5 legs
        xy = [(0.0, 0.0)]
        for _ in range(draw(st.integers(1, 5))):
            heading = draw(st.floats(0, 2 * math.pi))
            length = draw(st.floats(20, 2000))
            x, y = xy[-1]
            xy.append((x + length * math.cos(heading), y + length * math.sin(heading)))
        width_m = draw(st.floats(2, 400))
    points = [_to_lat_lng(plane, x, y) for x, y in xy]
    assume(outline_problem(kind, points) is None)
    zone = Zone(id=1, org_id=0, name="z", kind=kind, points=[list(p) for p in points])
    zone.width_m = width_m
    shape = zone_shape(OrgZone(1, 0, "z", kind, as_points(zone.points), width_m=width_m))
    assert isinstance(shape, Polygon | Corridor)
    # The shape's own plane (its first point's), in which both paths measure.
    own = shape.plane
    edges_xy = (
        list(zip(shape.ring_xy, (*shape.ring_xy[1:], shape.ring_xy[0]), strict=True))
        if isinstance(shape, Polygon)
        else list(zip(shape.line_xy, shape.line_xy[1:], strict=False))
    )
    edges = list(zip(points, points[1:] + points[:1], strict=True))[: len(edges_xy)]
    border_m = 0.0 if isinstance(shape, Polygon) else shape.half_width_m
    on_border: list[LatLng] = list(points) if isinstance(shape, Polygon) else []
    dropoffs: list[LatLng] = []
    for _ in range(draw(st.integers(5, 15))):  # on an edge, interpolated in degrees
        (a, b), t = draw(st.sampled_from(edges)), draw(st.floats(0, 1))
        on_border.append((a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])))
    for _ in range(draw(st.integers(10, 30))):  # across the border, 1 cm to 20 m either side
        ((ax, ay), (bx, by)), t = draw(st.sampled_from(edges_xy)), draw(st.floats(0, 1))
        length = math.hypot(bx - ax, by - ay)
        assume(length > 0)
        nx, ny = -(by - ay) / length, (bx - ax) / length
        side = draw(st.sampled_from([-1.0, 1.0]))
        off = border_m + side * draw(st.floats(0.01, 20))
        dropoffs.append(
            _to_lat_lng(own, ax + t * (bx - ax) + off * nx, ay + t * (by - ay) + off * ny)
        )
    box = shape.bbox(50.0)
    for _ in range(draw(st.integers(5, 20))):  # anywhere around it
        dropoffs.append(
            (
                draw(st.floats(box.min_lat, box.max_lat)),
                draw(st.floats(box.min_lng, box.max_lng)),
            )
        )
    return Case(zone, dropoffs + on_border, on_border)


async def _org(engine: AsyncEngine) -> int:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        org = Organization(slug="spatial-zones", name="Spatial")
        session.add(org)
        await session.commit()
        assert org.id is not None
        return org.id


async def _both_paths(
    engine: AsyncEngine, org_id: int, case: Case
) -> tuple[list[int], list[int], dict[LatLng, int]]:
    """Both paths' answers over the case's dropoffs (written, asked, rolled back)."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        orders = [Order(org_id=org_id, recipient_name=f"r{i}") for i in case.dropoffs]
        session.add_all(orders)
        await session.flush()
        order_of: dict[LatLng, int] = {}
        for order, (lat, lng) in zip(orders, case.dropoffs, strict=True):
            assert order.id is not None
            order_of.setdefault((lat, lng), order.id)
            session.add(
                Stop(org_id=org_id, order_id=order.id, kind=StopKind.DROPOFF, address="-",
                     lat=lat, lng=lng)
            )  # fmt: skip
        await session.flush()
        case.zone.org_id = org_id
        python = await orders_dropping_off_in(session, case.zone, "python")
        postgis = await orders_dropping_off_in(session, case.zone, "postgis")
        await session.rollback()
    return python, postgis, order_of


async def test_postgis_finds_the_same_orders_as_python(postgis_db: PostgisDb) -> None:
    org_id = await _org(postgis_db.engine)
    held: list[tuple[int, int]] = []  # (orders held, orders written) per case

    @settings(
        max_examples=60,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=cases())
    def check(case: Case) -> None:
        python, postgis, order_of = postgis_db.run(_both_paths(postgis_db.engine, org_id, case))
        assert postgis == python
        assert {order_of[p] for p in case.on_border} <= set(python)
        held.append((len(python), len(case.dropoffs)))

    await asyncio.to_thread(check)
    # The cases were not all trivial: most zones held some dropoffs, and not all of them.
    assert sum(1 for n, of in held if 0 < n < of) > len(held) // 2
