"""Local days and times of day in SQL, for SQLite and PostgreSQL alike.

A UTC time becomes local by adding its zone's offset, picked by a ``CASE`` over the few
instants the offset changes in the range (:mod:`backend.kpis.offsets`); seconds since the
epoch then give the local day (a whole number of days since 1970-01-01) and the minute of
that day. Only :class:`epoch_s` and :class:`floor_int` differ between databases:

- SQLite: ``julianday()`` (rounded to the millisecond: a double's last bits would put
  08:00:00 at 07:59:59.99996) and ``CAST(.. AS INTEGER)``, which floors the positive
  values it is given here (times after 1970);
- PostgreSQL: ``EXTRACT(EPOCH FROM ..)`` (independent of the session's time zone) and
  ``FLOOR``."""

import itertools
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, case, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from backend.kpis.offsets import Offset

EPOCH = date(1970, 1, 1)
DAY_S = 86_400


class epoch_s(FunctionElement[float]):  # noqa: N801 (an SQL function, named like one)
    """Seconds since 1970-01-01T00:00Z of a UTC time column."""

    type = Float()
    inherit_cache = True
    name = "epoch_s"


class floor_int(FunctionElement[int]):  # noqa: N801
    """The whole number at or below a non-negative number."""

    type = Integer()
    inherit_cache = True
    name = "floor_int"


@compiles(epoch_s)
def _epoch_default(element: epoch_s, compiler: SQLCompiler, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(epoch_s, "sqlite")
def _epoch_sqlite(element: epoch_s, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"ROUND((julianday({column}) - 2440587.5) * 86400.0, 3)"


@compiles(floor_int)
def _floor_default(element: floor_int, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR({compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(floor_int, "sqlite")
def _floor_sqlite(element: floor_int, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


def offset_s(column: Any, zone: list[Offset]) -> ColumnElement[Any]:
    """The zone's offset from UTC, seconds, at the time ``column``."""
    if len(zone) == 1:
        return literal(zone[0].seconds)
    branches = [(column < nxt.since, cur.seconds) for cur, nxt in itertools.pairwise(zone)]
    return case(*branches, else_=zone[-1].seconds)


def local_seconds(column: Any, zone: list[Offset]) -> ColumnElement[Any]:
    """The local wall-clock time of ``column`` as seconds since the epoch."""
    return epoch_s(column) + offset_s(column, zone)


def local_day(column: Any, zone: list[Offset]) -> ColumnElement[int]:
    """The local day of ``column``: days since 1970-01-01 (see :func:`day_number`)."""
    return floor_int(local_seconds(column, zone) / DAY_S)


def local_minute(column: Any, zone: list[Offset]) -> ColumnElement[int]:
    """The minute of the local day ``column`` falls in, 0 to 1439."""
    seconds = local_seconds(column, zone)
    return floor_int(seconds / 60) - floor_int(seconds / DAY_S) * 1440


def day_number(day: date) -> int:
    """What :func:`local_day` answers for ``day``."""
    return (day - EPOCH).days
