"""driver_events: what happened to a driver on the road (off route, back on it, zones)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.models.types import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "driver_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("driver_id", sa.Integer(), nullable=False),
        sa.Column("route_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "off_route",
                "back_on_route",
                "zone_entered",
                "zone_exited",
                name="drivereventkind",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lng", sa.Float(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["driver_id"], ["drivers.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["route_id"], ["routes.id"]),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("driver_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_driver_events_driver_id"), ["driver_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_driver_events_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("driver_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_driver_events_org_id"))
        batch_op.drop_index(batch_op.f("ix_driver_events_driver_id"))
    op.drop_table("driver_events")
