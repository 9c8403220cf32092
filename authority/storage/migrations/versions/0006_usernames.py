"""Usernames unique ignoring case; self-registered accounts remember they are unconfirmed.

Every existing user gets its username_key. Where two existing usernames differ only in case
(the CLI and the importer allowed "Alice" next to "alice"), the oldest account keeps the key
and the others keep their name and everything else but have no key: they still sign in,
nobody can create another of that name, and the upgrade names them in a warning so that an
operator can disable or delete the ones not wanted. Accounts registered before this revision
are not marked unconfirmed, so the purge of abandoned registrations never takes them.

Revision ID: 0006
Revises: 0005
"""

import logging

import sqlalchemy as sa
from alembic import op

from authority.storage.records import username_key

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

log = logging.getLogger("authority")
BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("username_key", sa.String(600), nullable=True))
        batch.add_column(sa.Column("unconfirmed_since", sa.Integer(), nullable=True))
    conn = op.get_bind()
    taken: set[str] = set()
    collided: list[str] = []
    pending: list[dict[str, str]] = []
    rows = conn.execute(sa.text("SELECT sub, username FROM users ORDER BY created_at, sub"))
    for sub, username in rows.all():
        key = username_key(username)
        if key in taken:
            collided.append(username)
            continue
        taken.add(key)
        pending.append({"sub": sub, "key": key})
    update = sa.text("UPDATE users SET username_key = :key WHERE sub = :sub")
    for start in range(0, len(pending), BATCH):
        conn.execute(update, pending[start : start + BATCH])
    if collided:
        log.warning(
            "usernames that differ from an older one only in case keep working but have no "
            "username_key (disable or delete the unwanted ones): %s",
            ", ".join(repr(name) for name in collided),
        )
    op.create_index("ix_users_username_key", "users", ["username_key"], unique=True)
    op.create_index("ix_users_unconfirmed_since", "users", ["unconfirmed_since"])


def downgrade() -> None:
    op.drop_index("ix_users_unconfirmed_since", "users")
    op.drop_index("ix_users_username_key", "users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("unconfirmed_since")
        batch.drop_column("username_key")
