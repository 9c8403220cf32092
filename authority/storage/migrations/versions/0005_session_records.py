"""Sessions: the successor each refresh token's use issued, and logins without refresh tokens.

``refresh_tokens.successor_hash`` tells a client retrying a refresh whose answer it never got
from a replay of a used token. ``refresh_families.refreshable`` is false for a login through
a client without the refresh_token grant: a session of one access token (its jti is the
family id), recorded so that logging out everywhere also ends it.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.add_column(sa.Column("successor_hash", sa.String(64), nullable=True))
    with op.batch_alter_table("refresh_families") as batch:
        batch.add_column(
            sa.Column("refreshable", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("refresh_families") as batch:
        batch.drop_column("refreshable")
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("successor_hash")
