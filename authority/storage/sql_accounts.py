"""Accounts as the operator manages them: listed a page at a time, renamed, readdressed and
deleted (which ends every session first)."""

from __future__ import annotations

from sqlalchemy import Connection, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from authority.storage.changes import signal
from authority.storage.records import (
    PASSWORD_RESET,
    VERIFY_EMAIL,
    ChangeKind,
    Conflict,
    User,
    username_key,
)
from authority.storage.sql_base import SqlBase
from authority.storage.sql_links import ADVISORY_LOCK, expire_links
from authority.storage.sql_revocation import end_user_sessions
from authority.storage.sql_users import user_from_row
from authority.storage.tables import (
    authorization_codes,
    browser_sessions,
    consents,
    families,
    one_time_tokens,
    refresh_tokens,
    users,
)


class AccountsSql(SqlBase):
    def list_users_page(
        self, limit: int | None = None, after: str | None = None, search: str | None = None
    ) -> list[User]:
        """Users by username, those after ``after`` (keyset: a page stays right while others
        are added or deleted), whose username or email holds ``search`` in any case."""
        query = select(users).order_by(users.c.username)
        if after is not None:
            query = query.where(users.c.username > after)
        if search:
            # username_key is the folded username; emails are stored lower-cased (ASCII).
            query = query.where(
                or_(
                    users.c.username_key.contains(username_key(search), autoescape=True),
                    func.lower(users.c.email).contains(search.lower(), autoescape=True),
                )
            )
        if limit is not None:
            query = query.limit(limit)
        return [user_from_row(r) for r in self._all(query)]

    def set_identity(self, sub: str, username: str, email: str | None, now: int) -> bool:
        """Rename a user and set (or clear) their address. Both stay unique as registration
        keeps them: the username in any case (Conflict), the address among the other accounts
        (Conflict). A new address is unverified, and the links mailed to the old one void."""
        name_key = username_key(username)

        def work(conn: Connection) -> bool:
            if conn.dialect.name == "postgresql":
                # The same locks, in the same order, as a registration of this name or address.
                keys = [f"username:{name_key}"] + ([f"email:{email}"] if email else [])
                for key in keys:
                    conn.execute(ADVISORY_LOCK, {"key": f"authority:{key}"})
            row = conn.execute(select(users.c.email).where(users.c.sub == sub)).first()
            if row is None:
                return False
            if email is not None:
                other = select(users.c.sub).where(
                    func.lower(users.c.email) == email.lower(), users.c.sub != sub
                )
                if conn.execute(other).first():
                    raise Conflict(f"the address {email!r} belongs to another account")
            values: dict[str, object] = {"username": username, "username_key": name_key}
            if email != row.email:
                values.update(email=email, email_verified=False)
                for purpose in (VERIFY_EMAIL, PASSWORD_RESET):
                    expire_links(conn, sub, purpose, now)
            conn.execute(update(users).where(users.c.sub == sub).values(**values))
            return True

        try:
            return self._write(work)
        except IntegrityError:  # the username, or another case of it
            raise Conflict(f"username {username!r} is taken") from None

    def delete_user(self, sub: str, now: int) -> bool:
        """Delete an account: its sessions end first (their access tokens are denied), then
        its links, consents, codes, sessions and the account itself go."""

        def work(conn: Connection) -> int:
            end_user_sessions(conn, sub, now)
            # Explicit, like delete_client: SQLite files created without foreign keys enforced.
            fams = select(families.c.family_id).where(families.c.sub == sub)
            conn.execute(delete(refresh_tokens).where(refresh_tokens.c.family_id.in_(fams)))
            for table in (families, browser_sessions, authorization_codes, consents):
                conn.execute(delete(table).where(table.c.sub == sub))
            conn.execute(delete(one_time_tokens).where(one_time_tokens.c.sub == sub))
            found = int(conn.execute(delete(users).where(users.c.sub == sub)).rowcount)
            if found:
                signal(conn, ChangeKind.USER, sub)
            return found

        return self._write(work) == 1
