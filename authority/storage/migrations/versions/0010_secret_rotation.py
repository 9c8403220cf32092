"""Client secret rotation: the secret a rotation replaced keeps working until its expiry.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing clients have one secret: no previous one, nothing that expires.
    with op.batch_alter_table("clients") as batch:
        batch.add_column(
            sa.Column("previous_secret_hash", sa.String(64), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("previous_secret_expires_at", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("previous_secret_expires_at")
        batch.drop_column("previous_secret_hash")
