"""postgis: the extension on PostgreSQL when the server has it and the role may create it,
and a GiST index of the stops' points

Nothing on SQLite, nor on a PostgreSQL without the PostGIS packages; a role that may not
create it (not a superuser) leaves a warning and the Python path in use. No column changes:
PostGIS computes from the stops' and fixes' lat/lng columns; the index is on an expression
of them (``backend.spatial.postgis.STOPS_POINT_INDEX``), used by the zone filter.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 22:40:00
"""

import logging
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from backend.spatial.postgis import STOPS_POINT_INDEX

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
    ).first()
    if available is None:
        return
    try:
        with bind.begin_nested():  # a savepoint: a refusal leaves the migration's transaction
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            bind.execute(
                text(
                    f"CREATE INDEX IF NOT EXISTS {STOPS_POINT_INDEX} ON stops "
                    "USING gist (ST_MakePoint(lng, lat))"
                )
            )
    except DBAPIError as exc:
        log.warning(
            "PostGIS is installed on the server but this role may not create the extension "
            "(%s); zone and nearest-driver queries run in Python. A superuser can run "
            "CREATE EXTENSION postgis; in this database, then restart the backend "
            "(README: Running on PostgreSQL).",
            type(exc.orig).__name__,
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # Without CASCADE: should anything else in the database use PostGIS (or the extension
    # belong to another role), it stays, with a warning; nothing of ours needs it gone.
    try:
        with bind.begin_nested():
            bind.execute(text(f"DROP INDEX IF EXISTS {STOPS_POINT_INDEX}"))
            bind.execute(text("DROP EXTENSION IF EXISTS postgis"))
    except DBAPIError as exc:
        log.warning("PostGIS extension left in place: %s", type(exc.orig).__name__)
