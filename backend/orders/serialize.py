"""Read orders with their stops and barcodes in a fixed number of queries."""

from collections import defaultdict
from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Barcode, Order, Stop
from shared.schemas.orders import OrderOut, StopOut


async def orders_out(session: AsyncSession, orders: Sequence[Order]) -> list[OrderOut]:
    ids = [o.id for o in orders]
    stops: dict[int, list[Stop]] = defaultdict(list)
    codes: dict[int, list[str]] = defaultdict(list)
    if ids:
        for stop in (await session.exec(select(Stop).where(col(Stop.order_id).in_(ids)))).all():
            stops[stop.order_id].append(stop)
        rows = await session.exec(
            select(Barcode).where(col(Barcode.order_id).in_(ids)).order_by(col(Barcode.id))
        )
        for bc in rows.all():
            codes[bc.order_id].append(bc.code)
    out = []
    for order in orders:
        assert order.id is not None
        order_stops = sorted(stops[order.id], key=lambda s: 0 if s.kind == "pickup" else 1)
        out.append(
            OrderOut.model_validate(
                {
                    **order.model_dump(),
                    "stops": [StopOut.model_validate(s) for s in order_stops],
                    "barcodes": codes[order.id],
                }
            )
        )
    return out


async def order_out(session: AsyncSession, order: Order) -> OrderOut:
    return (await orders_out(session, [order]))[0]
