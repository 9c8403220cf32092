"""Hosted sign-in: browser sessions (single sign-on), redeemed authorization codes, consent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, bindparam, delete, exists, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from authority.storage.records import (
    AuthorizationCode,
    BrowserSession,
    Consent,
    Redemption,
    RedemptionFailure,
    SessionStart,
    User,
)
from authority.storage.sql_base import SqlBase, join, split
from authority.storage.sql_revocation import end_browser_sessions
from authority.storage.sql_sessions import insert_family
from authority.storage.sql_users import user_from_row
from authority.storage.tables import (
    authorization_codes,
    browser_sessions,
    consents,
    users,
)

# How long a used code is remembered after it expires, so that a late replay still revokes.
USED_CODE_MEMORY = 600


def _browser_session(row: Any) -> BrowserSession:
    return BrowserSession(
        session_id=row.session_id,
        sub=row.sub,
        auth_time=row.auth_time,
        amr=split(row.amr),
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
    )


def _live_browser_session(now: Any) -> Any:
    return (
        browser_sessions.c.ended_at.is_(None),
        browser_sessions.c.expires_at > now,
        exists().where(users.c.sub == browser_sessions.c.sub, users.c.disabled.is_(False)),
    )


def _record_use(dialect: Any) -> Any:
    return (
        dialect.insert(authorization_codes)
        .on_conflict_do_nothing(index_elements=["code_hash"])
        .returning(authorization_codes.c.code_hash)
    )


# The redemption's statements, built once (they run on every code exchange).
_RECORD_USE = {"postgresql": _record_use(postgresql), "sqlite": _record_use(sqlite)}
_REDEEMED = select(authorization_codes.c.family_id).where(
    authorization_codes.c.code_hash == bindparam("hash")
)
_NOTHING_STARTED = (
    update(authorization_codes)
    .where(authorization_codes.c.code_hash == bindparam("hash"))
    .values(family_id=None)
)
# The code's user, if enabled, and whether its browser session (if any) is still signed in.
_CODE_USER = select(
    users,
    exists()
    .where(browser_sessions.c.session_id == bindparam("sid"), browser_sessions.c.ended_at.is_(None))
    .label("signed_in"),
).where(users.c.sub == bindparam("sub"), users.c.disabled.is_(False))


def _use_values(code: AuthorizationCode, family_id: str, now: int) -> dict[str, Any]:
    return {
        "code_hash": code.code_hash,
        "client_id": code.client_id,
        "redirect_uri": code.redirect_uri,
        "code_challenge": code.code_challenge,
        "sub": code.sub,
        "scope": join(code.scope),
        "audience": join(code.audience),
        "nonce": code.nonce,
        "auth_time": code.auth_time,
        "amr": join(code.amr),
        "browser_session_id": code.browser_session_id,
        "created_at": code.created_at,
        "expires_at": code.expires_at,
        "used_at": now,
        "family_id": family_id,
    }


# The statements of every single sign-on (/authorize with a session), built once:
# constructing them per call cost more than running them.
_FIND_BROWSER = select(browser_sessions).where(
    browser_sessions.c.secret_hash == bindparam("hash"),
    *_live_browser_session(bindparam("now")),
)


class BrowserSql(SqlBase):
    # -- browser sessions ------------------------------------------------------------------

    def start_browser_session(self, session: BrowserSession, secret_hash: str) -> None:
        """Record a sign-in on the hosted pages; the browser keeps the secret, we its hash."""
        values = {
            "session_id": session.session_id,
            "secret_hash": secret_hash,
            "sub": session.sub,
            "auth_time": session.auth_time,
            "amr": join(session.amr),
            "created_at": session.created_at,
            "last_seen_at": session.last_seen_at,
            "expires_at": session.expires_at,
        }
        self._write(lambda conn: conn.execute(insert(browser_sessions).values(**values)))

    def find_browser_session(self, secret_hash: str, now: int) -> BrowserSession | None:
        """The live browser session whose cookie hashes to ``secret_hash``: not ended, not
        expired, and its user not disabled."""
        row = self._query(
            lambda conn: conn.execute(_FIND_BROWSER, {"hash": secret_hash, "now": now}).first()
        )
        return _browser_session(row) if row else None

    def list_browser_sessions(self, sub: str, now: int) -> list[BrowserSession]:
        """A user's live browser sessions, newest first."""
        rows = self._all(
            select(browser_sessions)
            .where(browser_sessions.c.sub == sub, *_live_browser_session(now))
            .order_by(browser_sessions.c.created_at.desc())
        )
        return [_browser_session(r) for r in rows]

    def end_browser_session(self, session_id: str, now: int, sub: str | None = None) -> bool:
        """Sign one browser out, ending every session started from it (with ``sub``: only
        if it is that user's). False when there was no such live browser session."""
        return self._write(lambda conn: end_browser_sessions(conn, [session_id], now, sub)) == 1

    # -- authorization codes ---------------------------------------------------------------

    def redeem_code(
        self,
        code: AuthorizationCode,
        family_id: str,
        now: int,
        start: Callable[[AuthorizationCode, User], SessionStart] | None = None,
    ) -> Redemption:
        """Record a code's use (RFC 6749 §4.1.2): the insert of its hash succeeds once, and
        names ``family_id`` as the session its use starts; ``start`` says what that session
        is, recorded in the same transaction. A code whose user is disabled, or whose
        browser session has ended, is used up and starts nothing. A second use changes
        nothing and answers which session the first started: the caller decides what a
        replay means. The caller has checked the code is ours, this client's and unexpired.
        """

        def work(conn: Connection) -> Redemption:
            found = conn.execute(
                _CODE_USER, {"sub": code.sub, "sid": code.browser_session_id}
            ).first()
            if found is None:  # disabled (or gone): nothing to record a use for
                return Redemption(None, RedemptionFailure.UNKNOWN)
            first = conn.execute(
                _RECORD_USE[conn.dialect.name], _use_values(code, family_id, now)
            ).first()
            if first is None:
                redeemed = conn.execute(_REDEEMED, {"hash": code.code_hash}).first()
                family = redeemed.family_id if redeemed is not None else None
                return Redemption(None, RedemptionFailure.USED, family)
            if code.browser_session_id is not None and not found.signed_in:
                conn.execute(_NOTHING_STARTED, {"hash": code.code_hash})
                return Redemption(None, RedemptionFailure.UNKNOWN)
            user = user_from_row(found)
            if start is not None:
                session = start(code, user)
                assert session.family.family_id == family_id
                insert_family(
                    conn,
                    session.family,
                    session.token_hash,
                    session.token_expires_at,
                    session.access,
                )
            return Redemption(code, user=user)

        return self._write(work)

    def redeemed_family(self, code_hash: str) -> str | None:
        """The session a redeemed code started (None: never redeemed, or it started none)."""
        row = self._query(lambda conn: conn.execute(_REDEEMED, {"hash": code_hash}).first())
        return row.family_id if row is not None else None

    # -- consent ---------------------------------------------------------------------------

    def get_consent(self, sub: str, client_id: str) -> Consent | None:
        row = self._first(
            select(consents).where(consents.c.sub == sub, consents.c.client_id == client_id)
        )
        return _consent(row) if row else None

    def grant_consent(self, consent: Consent) -> None:
        """Remember approved scopes; approving again adds to what was approved before."""

        def work(conn: Connection) -> None:
            found = conn.execute(
                select(consents.c.scopes).where(
                    consents.c.sub == consent.sub, consents.c.client_id == consent.client_id
                )
            ).first()
            before = split(found.scopes) if found else ()
            scopes = join(tuple(dict.fromkeys((*before, *consent.scopes))))
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            stmt = dialect.insert(consents).values(
                sub=consent.sub,
                client_id=consent.client_id,
                scopes=scopes,
                granted_at=consent.granted_at,
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["sub", "client_id"],
                    set_={"scopes": scopes, "granted_at": consent.granted_at},
                )
            )

        self._write(work)

    def list_consents(self, sub: str) -> list[Consent]:
        rows = self._all(
            select(consents).where(consents.c.sub == sub).order_by(consents.c.granted_at.desc())
        )
        return [_consent(r) for r in rows]

    def withdraw_consent(self, sub: str, client_id: str) -> bool:
        stmt = delete(consents).where(consents.c.sub == sub, consents.c.client_id == client_id)
        return self._write(lambda conn: conn.execute(stmt).rowcount) == 1

    def purge_sign_ins(self, now: int, batch: int = 500) -> dict[str, int]:
        """Delete, in one bounded batch, expired codes (a used one is kept a while after it
        expires, so that its replay still ends what it started) and browser sessions that
        ended or expired."""
        old_codes = (
            select(authorization_codes.c.code_hash)
            .where(authorization_codes.c.expires_at <= now - USED_CODE_MEMORY)
            .limit(batch)
        )
        dead_browsers = (
            select(browser_sessions.c.session_id)
            .where(
                or_(browser_sessions.c.ended_at.is_not(None), browser_sessions.c.expires_at <= now)
            )
            .limit(batch)
        )

        def work(conn: Connection) -> dict[str, int]:
            hashes = [r.code_hash for r in conn.execute(old_codes)]
            if hashes:
                conn.execute(
                    delete(authorization_codes).where(authorization_codes.c.code_hash.in_(hashes))
                )
            ids = [r.session_id for r in conn.execute(dead_browsers)]
            if ids:
                conn.execute(delete(browser_sessions).where(browser_sessions.c.session_id.in_(ids)))
            return {"codes": len(hashes), "browser_sessions": len(ids)}

        return self._write(work)


def _consent(row: Any) -> Consent:
    return Consent(
        sub=row.sub, client_id=row.client_id, scopes=split(row.scopes), granted_at=row.granted_at
    )
