"""zones: polygons and corridors an admin draws; the organisation's drivers are checked
against the active ones

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from backend.models.types import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "zones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "zone", "restricted", "corridor", name="zonekind", native_enum=False, length=30
            ),
            nullable=False,
        ),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("width_m", sa.Float(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("dwell_s", sa.Float(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("zones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zones_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("zones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zones_org_id"))
    op.drop_table("zones")
