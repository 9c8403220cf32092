"""Key lifecycle: removable_at and database-held private keys; per-client token algorithm.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signing_keys") as batch:
        batch.add_column(sa.Column("removable_at", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("private_key", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("access_token_alg", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("access_token_alg")
    with op.batch_alter_table("signing_keys") as batch:
        batch.drop_column("private_key")
        batch.drop_column("removable_at")
