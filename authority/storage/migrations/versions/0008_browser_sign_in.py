"""Browser sign-in: clients' redirect URIs, public and consent flags; browser sessions,
authorization codes and remembered consent; the browser session a family started from.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing clients keep what they had: confidential, first-party, no redirect URIs.
    with op.batch_alter_table("clients") as batch:
        batch.add_column(
            sa.Column("redirect_uris", sa.String(8000), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column(
                "post_logout_redirect_uris", sa.String(8000), nullable=False, server_default=""
            )
        )
        batch.add_column(
            sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("consent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("refresh_families") as batch:
        batch.add_column(sa.Column("browser_session_id", sa.String(64), nullable=True))
    op.create_index(
        "ix_refresh_families_browser_session_id", "refresh_families", ["browser_session_id"]
    )
    op.create_table(
        "browser_sessions",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "sub", sa.String(64), sa.ForeignKey("users.sub", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("auth_time", sa.Integer(), nullable=False),
        sa.Column("amr", sa.String(200), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.Integer(), nullable=True),
    )
    op.create_index("ix_browser_sessions_sub", "browser_sessions", ["sub"])
    op.create_index("ix_browser_sessions_expires_at", "browser_sessions", ["expires_at"])
    op.create_table(
        "authorization_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column(
            "client_id",
            sa.String(64),
            sa.ForeignKey("clients.client_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("redirect_uri", sa.String(2000), nullable=False),
        sa.Column("code_challenge", sa.String(128), nullable=False),
        sa.Column(
            "sub", sa.String(64), sa.ForeignKey("users.sub", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("scope", sa.String(2000), nullable=False),
        sa.Column("audience", sa.String(4000), nullable=False),
        sa.Column("nonce", sa.String(512), nullable=True),
        sa.Column("auth_time", sa.Integer(), nullable=False),
        sa.Column("amr", sa.String(200), nullable=False),
        sa.Column("browser_session_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.Integer(), nullable=True),
        sa.Column("family_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_authorization_codes_client_id", "authorization_codes", ["client_id"])
    op.create_index("ix_authorization_codes_sub", "authorization_codes", ["sub"])
    op.create_index("ix_authorization_codes_expires_at", "authorization_codes", ["expires_at"])
    op.create_table(
        "consents",
        sa.Column(
            "sub",
            sa.String(64),
            sa.ForeignKey("users.sub", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "client_id",
            sa.String(64),
            sa.ForeignKey("clients.client_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("scopes", sa.String(2000), nullable=False),
        sa.Column("granted_at", sa.Integer(), nullable=False),
    )
    op.create_index("ix_consents_client_id", "consents", ["client_id"])


def downgrade() -> None:
    op.drop_table("consents")
    op.drop_table("authorization_codes")
    op.drop_table("browser_sessions")
    op.drop_index("ix_refresh_families_browser_session_id", "refresh_families")
    with op.batch_alter_table("refresh_families") as batch:
        batch.drop_column("browser_session_id")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("consent")
        batch.drop_column("public")
        batch.drop_column("post_logout_redirect_uris")
        batch.drop_column("redirect_uris")
