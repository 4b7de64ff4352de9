"""Whether the database has PostGIS, and what of it is not ours.

Migration 0020 creates the extension on PostgreSQL when the server has the packages and the
role may (a superuser, usually); otherwise it leaves it to an administrator
(``CREATE EXTENSION postgis;``). The backend looks once, at startup: with the extension the
zone and nearest-driver queries run in SQL, without it (SQLite; PostgreSQL without PostGIS)
in Python, with the same answers.
"""

from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

SpatialPath = Literal["python", "postgis"]

# Tables the extension brings into the schema it is created in: not the models', so the
# check that the migrations build exactly the models' tables leaves them out.
EXTENSION_TABLES = frozenset({"spatial_ref_sys"})
# Migration 0020's GiST index of the stops' points (lng, lat as a PostGIS point): only where
# PostGIS is, so not in the models either.
STOPS_POINT_INDEX = "ix_stops_point_gist"


async def postgis_version(engine: AsyncEngine) -> str | None:
    """The PostGIS version installed in the database behind ``engine``, or None."""
    if engine.dialect.name != "postgresql":
        return None
    async with engine.connect() as conn:
        found = await conn.execute(
            text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
        )
        version: str | None = found.scalar()
    return version


async def spatial_path(engine: AsyncEngine) -> SpatialPath:
    """Where the zone and nearest-driver queries run for this database."""
    return "postgis" if await postgis_version(engine) is not None else "python"


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's filter: everything but the extension's own tables and our PostGIS index."""
    if not reflected or compare_to is not None:
        return True
    if type_ == "table":
        return name not in EXTENSION_TABLES
    return not (type_ == "index" and name == STOPS_POINT_INDEX)
