"""notification settings: triggers, templates per organisation and language, quiet hours, opt-outs

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 16:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.models.types import UTCDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=16), nullable=True))
    op.create_table(
        "notification_settings",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("enabled_triggers", sa.JSON(), nullable=False),
        sa.Column("arriving_minutes", sa.Integer(), nullable=False),
        sa.Column("quiet_start", sa.String(length=5), nullable=True),
        sa.Column("quiet_end", sa.String(length=5), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("default_language", sa.String(length=16), nullable=True),
        sa.Column("auto_tracking_links", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("org_id"),
    )
    op.create_table(
        "notification_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("sms", sa.String(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "key", "language", name="uq_notification_templates_key"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("notification_templates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_templates_org_id"), ["org_id"], unique=False
        )
    op.create_table(
        "notification_opt_outs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "address", name="uq_notification_opt_outs_address"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("notification_opt_outs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_opt_outs_org_id"), ["org_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notification_opt_outs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_opt_outs_org_id"))
    op.drop_table("notification_opt_outs")
    with op.batch_alter_table("notification_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_templates_org_id"))
    op.drop_table("notification_templates")
    op.drop_table("notification_settings")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("language")
