"""kpi indexes: order events by organisation and time (the KPIs read a range of days),
covering the columns the KPI queries read

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 19:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_order_events_org_at",
            ["org_id", "at", "kind", "to_status", "actor_user_id", "order_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.drop_index("ix_order_events_org_at")
