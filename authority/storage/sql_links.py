"""Self-service accounts: registration and the single-use link tokens (email verification,
password reset), each consumed by one conditional UPDATE so a link works exactly once."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from authority.storage.records import (
    PASSWORD_RESET,
    VERIFY_EMAIL,
    LinkToken,
    Registration,
    User,
    username_key,
)
from authority.storage.sql_base import SqlBase
from authority.storage.sql_revocation import end_user_sessions
from authority.storage.sql_users import user_from_row
from authority.storage.tables import one_time_tokens as links
from authority.storage.tables import users

ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:key))")
_CONSUME = (
    update(links)
    .where(
        links.c.token_hash == bindparam("presented"),
        links.c.purpose == bindparam("for_purpose"),
        links.c.used_at.is_(None),
        links.c.expires_at > bindparam("now"),
    )
    .values(used_at=bindparam("now"))
    .returning(links.c.sub)
)


def _consume(conn: Connection, token_hash: str, purpose: str, now: int) -> str | None:
    # Only its own parameters: SQLAlchemy would SET any extra key naming a column.
    params = {"presented": token_hash, "for_purpose": purpose, "now": now}
    row = conn.execute(_CONSUME, params).first()
    return row.sub if row else None


def expire_links(conn: Connection, sub: str, purpose: str, now: int) -> None:
    """Every other unused link of this kind stops working too (an old reset mail)."""
    conn.execute(
        update(links)
        .where(links.c.sub == sub, links.c.purpose == purpose, links.c.used_at.is_(None))
        .values(used_at=now)
    )


def _link_values(link: LinkToken) -> dict[str, object]:
    return {
        "token_hash": link.token_hash,
        "purpose": link.purpose,
        "sub": link.sub,
        "created_at": link.created_at,
        "expires_at": link.expires_at,
    }


class LinksSql(SqlBase):
    def users_with_email(self, email: str) -> list[User]:
        """Every account with this address, whatever its case (imported users keep theirs)."""
        query = select(users).where(func.lower(users.c.email) == email.lower())
        return [user_from_row(r) for r in self._all(query.order_by(users.c.created_at))]

    def register_user(self, user: User, link: LinkToken | None) -> Registration:
        """Create ``user`` (and its verification link) unless its username, in any case, or
        its email address is taken."""
        assert user.email is not None
        name_key = username_key(user.username)

        def work(conn: Connection) -> Registration:
            if conn.dialect.name == "postgresql":
                # Registrations of one name or one address queue here, so two racing ones
                # cannot both find it free: email is no unique column (imported accounts
                # may share an address). Always in this order.
                for key in (f"username:{name_key}", f"email:{user.email}"):
                    conn.execute(ADVISORY_LOCK, {"key": f"authority:{key}"})
            name = users.c.username_key == name_key
            if conn.execute(select(users.c.sub).where(name)).first():
                return Registration.USERNAME_TAKEN
            email = func.lower(users.c.email) == user.email
            if conn.execute(select(users.c.sub).where(email)).first():
                return Registration.EMAIL_TAKEN
            conn.execute(
                insert(users).values(
                    sub=user.sub,
                    username=user.username,
                    username_key=name_key,
                    email=user.email,
                    password_hash=user.password_hash,
                    disabled=False,
                    created_at=user.created_at,
                    email_verified=False,
                    unconfirmed_since=user.unconfirmed_since,
                )
            )
            if link is not None:
                conn.execute(insert(links).values(**_link_values(link)))
            return Registration.CREATED

        try:
            return self._write(work)
        except IntegrityError:  # the same username (in any case), inserted by a racing request
            return Registration.USERNAME_TAKEN

    def add_link(self, link: LinkToken) -> None:
        self._write(lambda conn: conn.execute(insert(links).values(**_link_values(link))))

    def peek_link(self, token_hash: str, purpose: str, now: int) -> str | None:
        """The sub a usable link belongs to, without using it (to show its page)."""
        row = self._first(
            select(links.c.sub).where(
                links.c.token_hash == token_hash,
                links.c.purpose == purpose,
                links.c.used_at.is_(None),
                links.c.expires_at > now,
            )
        )
        return row.sub if row else None

    def verify_email(self, token_hash: str, now: int) -> str | None:
        """Use a verification link: the account's address is verified. Returns its sub."""

        def work(conn: Connection) -> str | None:
            sub = _consume(conn, token_hash, VERIFY_EMAIL, now)
            if sub is not None:
                verified = {"email_verified": True, "unconfirmed_since": None}
                conn.execute(update(users).where(users.c.sub == sub).values(**verified))
            return sub

        return self._write(work)

    def reset_password(self, token_hash: str, password_hash: str, now: int) -> str | None:
        """Use a reset link: the new password hash, the address verified (the link reached
        it), other reset links void, and every session ended; all or nothing."""

        def work(conn: Connection) -> str | None:
            sub = _consume(conn, token_hash, PASSWORD_RESET, now)
            if sub is None:
                return None
            conn.execute(
                update(users)
                .where(users.c.sub == sub)
                .values(password_hash=password_hash, email_verified=True, unconfirmed_since=None)
            )
            expire_links(conn, sub, PASSWORD_RESET, now)
            end_user_sessions(conn, sub, now)
            return sub

        return self._write(work)

    def change_password(
        self, sub: str, password_hash: str, now: int, keep: str | None = None
    ) -> int:
        """A new password hash; pending reset links void; every session but ``keep`` ended
        (returns how many)."""

        def work(conn: Connection) -> int:
            conn.execute(
                update(users).where(users.c.sub == sub).values(password_hash=password_hash)
            )
            expire_links(conn, sub, PASSWORD_RESET, now)
            return end_user_sessions(conn, sub, now, keep=keep)

        return self._write(work)

    def purge_links(self, now: int) -> int:
        """Delete links that have expired (used or not: either way they open nothing)."""
        stmt = delete(links).where(links.c.expires_at <= now)
        return int(self._write(lambda conn: conn.execute(stmt).rowcount))
