"""Scheduled promotion: when a next signing key becomes active (``keys rotate --at-earliest``),
performed by the key maintenance of whichever server finds it due.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing keys have nothing scheduled.
    with op.batch_alter_table("signing_keys") as batch:
        batch.add_column(sa.Column("promote_at", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signing_keys") as batch:
        batch.drop_column("promote_at")
