"""exception_resolutions: inbox items a dispatcher marked resolved; tracking_page_views:
customers' visits of their tracking page (the "where is my order" figure)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.models.types import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exception_resolutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("resolved_by_user_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["resolved_by_user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "key", name="uq_exception_resolutions_org_key"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("exception_resolutions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exception_resolutions_org_id"), ["org_id"], unique=False
        )
    op.create_table(
        "tracking_page_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("visitor", sa.String(length=32), nullable=False),
        sa.Column("first_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("reads", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("tracking_page_views", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tracking_page_views_order_id"), ["order_id"], unique=False
        )
        batch_op.create_index(
            "ix_tracking_page_views_link_visitor", ["link_id", "visitor"], unique=False
        )
        batch_op.create_index(
            "ix_tracking_page_views_org_first", ["org_id", "first_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tracking_page_views", schema=None) as batch_op:
        batch_op.drop_index("ix_tracking_page_views_org_first")
        batch_op.drop_index("ix_tracking_page_views_link_visitor")
        batch_op.drop_index(batch_op.f("ix_tracking_page_views_order_id"))
    op.drop_table("tracking_page_views")
    with op.batch_alter_table("exception_resolutions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exception_resolutions_org_id"))
    op.drop_table("exception_resolutions")
