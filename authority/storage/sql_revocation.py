"""How a session ends, and the access-token deny-list.

Every way a session ends (logout, logout everywhere, a password reset or change, disabling
the user, disabling or deleting the client, refresh-token reuse, revoking a refresh token)
goes through ``revoke_families``, which also denies the access tokens issued in it.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from authority.storage.sql_base import SqlBase
from authority.storage.tables import (
    browser_sessions,
    families,
    refresh_tokens,
    revoked_access_tokens,
)

# Introspection's one lookup, on every call: built once, as the rotation's statements are.
_DENIED = select(revoked_access_tokens.c.jti).where(revoked_access_tokens.c.jti == bindparam("jti"))


class DenyListSql(SqlBase):
    def deny_access_token(self, jti: str, expires_at: int, now: int) -> None:
        self._write(lambda conn: deny(conn, [(jti, expires_at)], now))

    def is_access_token_denied(self, jti: str) -> bool:
        return self._query(lambda conn: conn.execute(_DENIED, {"jti": jti}).first()) is not None


def end_user_sessions(
    conn: Connection, sub: str, now: int, family_id: str | None = None, keep: str | None = None
) -> int:
    """End one of a user's sessions, or all of them but ``keep``. Ending all of them also
    signs the user out of every browser (but the one ``keep`` started from)."""
    query = select(families.c.family_id).where(
        families.c.sub == sub, families.c.revoked_at.is_(None)
    )
    if family_id is not None:
        query = query.where(families.c.family_id == family_id)
    if keep is not None:
        query = query.where(families.c.family_id != keep)
    ids = [r.family_id for r in conn.execute(query)]
    if family_id is None:
        browsers = update(browser_sessions).where(
            browser_sessions.c.sub == sub, browser_sessions.c.ended_at.is_(None)
        )
        if keep is not None:
            kept = select(families.c.browser_session_id).where(
                families.c.family_id == keep, families.c.browser_session_id.is_not(None)
            )
            browsers = browsers.where(browser_sessions.c.session_id.not_in(kept))
        conn.execute(browsers.values(ended_at=now))
    return revoke_families(conn, ids, now)


def end_browser_sessions(
    conn: Connection, session_ids: list[str], now: int, sub: str | None = None
) -> int:
    """Sign browsers out (logout, the user's own choice): each browser session ends, and so
    does every session (refresh family) started from it. Returns how many browser sessions
    ended; with ``sub``, only that user's."""
    if not session_ids:
        return 0
    ending = update(browser_sessions).where(
        browser_sessions.c.session_id.in_(session_ids), browser_sessions.c.ended_at.is_(None)
    )
    if sub is not None:
        ending = ending.where(browser_sessions.c.sub == sub)
    ended = int(conn.execute(ending.values(ended_at=now)).rowcount)
    started = select(families.c.family_id).where(
        families.c.browser_session_id.in_(session_ids), families.c.revoked_at.is_(None)
    )
    if sub is not None:
        started = started.where(families.c.sub == sub)
    revoke_families(conn, [r.family_id for r in conn.execute(started)], now)
    return ended


def end_client_sessions(conn: Connection, client_id: str, now: int) -> int:
    """End every session of a client (disabled or deleted)."""
    query = select(families.c.family_id).where(
        families.c.client_id == client_id, families.c.revoked_at.is_(None)
    )
    return revoke_families(conn, [r.family_id for r in conn.execute(query)], now)


def revoke_families(conn: Connection, family_ids: list[str], now: int) -> int:
    """End sessions: their refresh tokens stop working, their live access tokens are denied.

    Every way a session ends comes here. The family rows are updated first and the access
    tokens read in a later statement: on PostgreSQL the update waits for a rotation that
    holds the family row, and the read, with a snapshot of its own, then sees its successor.
    """
    if not family_ids:
        return 0
    ended = conn.execute(
        update(families)
        .where(families.c.family_id.in_(family_ids), families.c.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    issued = select(refresh_tokens.c.access_jti, refresh_tokens.c.access_expires_at).where(
        refresh_tokens.c.family_id.in_(family_ids),
        refresh_tokens.c.access_jti.is_not(None),
        refresh_tokens.c.access_expires_at > now,
    )
    # A login without refresh tokens: its one access token's jti is the family id.
    logins = select(families.c.family_id, families.c.expires_at).where(
        families.c.family_id.in_(family_ids),
        families.c.refreshable.is_(False),
        families.c.expires_at > now,
    )
    live = conn.execute(issued.union_all(logins)).all()
    deny(conn, [(jti, expires_at) for jti, expires_at in live], now)
    return int(ended)


def deny(conn: Connection, entries: list[tuple[str, int]], now: int) -> None:
    """Add to the deny-list; an entry already there (even from a racing replica) stays."""
    if not entries:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(revoked_access_tokens).on_conflict_do_nothing()
    conn.execute(stmt, [{"jti": j, "expires_at": e, "revoked_at": now} for j, e in entries])
