"""Change generations: a counter per kind of thing servers hold in memory (keys, clients,
users), bumped by every change, which servers on SQLite poll to see changes within a second.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Empty: the first change of each kind inserts its row.
    op.create_table(
        "change_generations",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("generation", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("change_generations")
