"""Users: accounts the operator, the importer and self-service create, and their disabling
(which ends every session)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from authority.storage.changes import signal
from authority.storage.records import ChangeKind, Conflict, User, username_key
from authority.storage.sql_base import SqlBase
from authority.storage.sql_revocation import end_user_sessions, revoke_families
from authority.storage.tables import families, one_time_tokens, refresh_tokens, users


def user_from_row(row: Any) -> User:
    return User(
        sub=row.sub,
        username=row.username,
        email=row.email,
        password_hash=row.password_hash,
        disabled=bool(row.disabled),
        created_at=row.created_at,
        email_verified=bool(row.email_verified),
        unconfirmed_since=row.unconfirmed_since,
    )


class UsersSql(SqlBase):
    def get_user_by_username(self, username: str) -> User | None:
        row = self._first(select(users).where(users.c.username == username))
        return user_from_row(row) if row else None

    def get_user(self, sub: str) -> User | None:
        row = self._first(select(users).where(users.c.sub == sub))
        return user_from_row(row) if row else None

    def list_users(self) -> list[User]:
        rows = self._all(select(users).order_by(users.c.created_at, users.c.username))
        return [user_from_row(r) for r in rows]

    def add_user(self, user: User) -> None:
        values = {
            "sub": user.sub,
            "username": user.username,
            "username_key": username_key(user.username),
            "email": user.email,
            "password_hash": user.password_hash,
            "disabled": user.disabled,
            "created_at": user.created_at,
            "email_verified": user.email_verified,
            "unconfirmed_since": user.unconfirmed_since,
        }
        try:
            self._write(lambda conn: conn.execute(insert(users).values(**values)))
        except IntegrityError:  # the username, or another case of it
            raise Conflict(f"username {user.username!r} is taken") from None

    def set_password_hash(self, sub: str, password_hash: str) -> None:
        stmt = update(users).where(users.c.sub == sub).values(password_hash=password_hash)
        self._write(lambda conn: conn.execute(stmt))

    def confirm_sign_in(self, sub: str) -> None:
        """The account signed in: it is no longer an unconfirmed registration."""
        stmt = (
            update(users)
            .where(users.c.sub == sub, users.c.unconfirmed_since.is_not(None))
            .values(unconfirmed_since=None)
        )
        self._write(lambda conn: conn.execute(stmt))

    def purge_unconfirmed(
        self, before: int, batch: int = 500, max_batches: int | None = None
    ) -> int:
        """Delete accounts unconfirmed since ``before`` or earlier (never verified, never signed
        in), in bounded batches of one short transaction each; returns how many."""
        total, batches = 0, 0
        while max_batches is None or batches < max_batches:
            done = self._write(lambda conn: _purge_unconfirmed(conn, before, batch))
            total, batches = total + done, batches + 1
            if done < batch:
                break
        return total

    def set_user_disabled(self, sub: str, disabled: bool, now: int) -> bool:
        def work(conn: Connection) -> int:
            if disabled:  # a disabled user keeps no live session, nor a live access token
                end_user_sessions(conn, sub, now)
            stmt = update(users).where(users.c.sub == sub).values(disabled=disabled)
            found = int(conn.execute(stmt).rowcount)
            if found:
                signal(conn, ChangeKind.USER, sub)
            return found

        return self._write(work) == 1

    def upsert_users(self, rows: list[dict[str, Any]], now: int) -> tuple[int, int, list[str]]:
        """Insert users, or update those whose username exists (their sub stays); returns
        (created, updated, refused). Duplicates within ``rows``: the last one wins. A row
        whose username differs only in case from another's is refused (its username is in
        ``refused``), whether that other one is stored or earlier in ``rows``. A user imported
        as disabled has every session ended."""
        latest: dict[str, dict[str, Any]] = {}
        owners: dict[str, str] = {}  # username_key -> the username that has it
        refused: list[str] = []
        for row in rows:
            key = username_key(row["username"])
            owner = owners.setdefault(key, row["username"])
            if owner != row["username"]:
                refused.append(row["username"])
                continue
            latest[row["username"]] = {**row, "username_key": key}

        def work(conn: Connection) -> tuple[int, int, list[str]]:
            stored = {
                r.username_key: r.username
                for r in conn.execute(
                    select(users.c.username, users.c.username_key).where(
                        users.c.username_key.in_([r["username_key"] for r in latest.values()])
                    )
                )
            }
            clash = [n for n, r in latest.items() if stored.get(r["username_key"], n) != n]
            fresh = {n: r for n, r in latest.items() if n not in clash}
            names = list(fresh)
            known = {
                r.username
                for r in conn.execute(select(users.c.username).where(users.c.username.in_(names)))
            }
            if fresh:
                dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
                stmt = dialect.insert(users)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[users.c.username],
                    set_={
                        "email": stmt.excluded.email,
                        "password_hash": stmt.excluded.password_hash,
                        "disabled": stmt.excluded.disabled,
                        "email_verified": stmt.excluded.email_verified,
                    },
                )
                # A row may bring its created_at (date_joined); a stored user keeps its own.
                conn.execute(stmt, [{"created_at": now, **row} for row in fresh.values()])
            disabled = [name for name, row in fresh.items() if row["disabled"]]
            if disabled:  # as set_user_disabled: no live session, nor a live access token
                subs = select(users.c.sub).where(users.c.username.in_(disabled))
                live = select(families.c.family_id).where(
                    families.c.sub.in_(subs), families.c.revoked_at.is_(None)
                )
                revoke_families(conn, [r.family_id for r in conn.execute(live)], now)
                signal(conn, ChangeKind.USER, None)
            return len(fresh) - len(known), len(known), [*refused, *clash]

        return self._write(work)

    def subs_by_username(self, usernames: list[str]) -> dict[str, str]:
        """The sub of each of ``usernames`` that is stored (exact match)."""
        if not usernames:
            return {}
        rows = self._all(
            select(users.c.username, users.c.sub).where(users.c.username.in_(usernames))
        )
        return {r.username: r.sub for r in rows}


def _purge_unconfirmed(conn: Connection, before: int, batch: int) -> int:
    stale = (
        select(users.c.sub)
        .where(
            users.c.unconfirmed_since.is_not(None),
            users.c.unconfirmed_since <= before,
            users.c.email_verified.is_(False),
        )
        .limit(batch)
    )
    subs = [r.sub for r in conn.execute(stale)]
    if not subs:
        return 0
    # The conditions again, and the accounts first: one that signed in meanwhile is no longer
    # purged, and neither is the session it started (which only revoke_families may end).
    gone = (
        delete(users)
        .where(
            users.c.sub.in_(subs),
            users.c.unconfirmed_since.is_not(None),
            users.c.unconfirmed_since <= before,
        )
        .returning(users.c.sub)
    )
    subs = [r.sub for r in conn.execute(gone)]
    if subs:
        # Explicit, like delete_client: SQLite files created without foreign keys enforced.
        conn.execute(delete(one_time_tokens).where(one_time_tokens.c.sub.in_(subs)))
        fams = select(families.c.family_id).where(families.c.sub.in_(subs))
        conn.execute(delete(refresh_tokens).where(refresh_tokens.c.family_id.in_(fams)))
        conn.execute(delete(families).where(families.c.sub.in_(subs)))
    return len(subs)
