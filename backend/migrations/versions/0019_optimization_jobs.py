"""optimization jobs: planning jobs shared by every worker (status, progress, result)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.models.types import UTCDateTime

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "optimization_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                "cancelled",
                name="optimizationstatus",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("best_drive_s", sa.Integer(), nullable=True),
        sa.Column("best_distance_m", sa.Integer(), nullable=True),
        sa.Column("best_served", sa.Integer(), nullable=True),
        sa.Column("order_count", sa.Integer(), nullable=False),
        sa.Column("driver_count", sa.Integer(), nullable=False),
        sa.Column("engine", sa.String(length=30), nullable=True),
        sa.Column("route_ids", sa.JSON(), nullable=False),
        sa.Column("unassigned", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("optimization_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_optimization_jobs_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("optimization_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_optimization_jobs_org_id"))
    op.drop_table("optimization_jobs")
