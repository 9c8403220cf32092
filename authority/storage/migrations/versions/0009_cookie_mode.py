"""Cookie mode: a client whose refresh token travels in an httpOnly cookie, and the browser
origins (CORS) a client's pages are served from.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing clients keep what they had: the refresh token in the body, no browser origin.
    with op.batch_alter_table("clients") as batch:
        batch.add_column(
            sa.Column("refresh_cookie", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("allowed_origins", sa.String(4000), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("allowed_origins")
        batch.drop_column("refresh_cookie")
