"""stops: eta_at (the estimated arrival last published for the stop)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.models.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stops", schema=None) as batch_op:
        batch_op.add_column(sa.Column("eta_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stops", schema=None) as batch_op:
        batch_op.drop_column("eta_at")
