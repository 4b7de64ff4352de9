"""organizations: the tracking page's brand colour and logo, the proof photo shown or not,
and how long links keep working after the order is finished

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 23:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("brand_colour", sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column("logo_url", sa.String(length=500), nullable=True))
        batch_op.add_column(
            sa.Column("show_proof_photo", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "tracking_hours_after_delivery",
                sa.Float(),
                server_default=sa.text("72"),
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("tracking_hours_after_delivery")
        batch_op.drop_column("show_proof_photo")
        batch_op.drop_column("logo_url")
        batch_op.drop_column("brand_colour")
