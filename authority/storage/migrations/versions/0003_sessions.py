"""Sessions: access tokens tracked per refresh token, and the access-token deny-list.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.add_column(sa.Column("access_jti", sa.String(64), nullable=True))
        batch.add_column(sa.Column("access_expires_at", sa.Integer(), nullable=True))
    op.create_index("ix_refresh_families_expires_at", "refresh_families", ["expires_at"])
    op.create_table(
        "revoked_access_tokens",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.Integer(), nullable=False),
    )
    op.create_index("ix_revoked_access_tokens_expires_at", "revoked_access_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_table("revoked_access_tokens")
    op.drop_index("ix_refresh_families_expires_at", "refresh_families")
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("access_expires_at")
        batch.drop_column("access_jti")
