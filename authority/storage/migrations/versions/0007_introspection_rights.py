"""Introspection rights of clients: the audiences a client serves, or any token.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing clients may introspect their own tokens only, from now on.
    with op.batch_alter_table("clients") as batch:
        batch.add_column(
            sa.Column("resource_servers", sa.String(4000), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("introspect_any", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("introspect_any")
        batch.drop_column("resource_servers")
