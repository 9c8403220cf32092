"""Refresh-token families (sessions): their start, rotation, listing and purge."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, delete, exists, insert, or_, select, text, update

from authority.storage.records import (
    Family,
    IssuedAccess,
    RefreshTokenState,
    Rotation,
    RotationFailure,
    UsedToken,
)
from authority.storage.sql_base import SqlBase, join, split
from authority.storage.sql_revocation import deny, end_user_sessions, revoke_families
from authority.storage.tables import families, refresh_tokens, revoked_access_tokens, users


def _family(row: Any) -> Family:
    return Family(
        family_id=row.family_id,
        client_id=row.client_id,
        sub=row.sub,
        scope=split(row.scope),
        audience=split(row.audience),
        auth_time=row.auth_time,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        refreshable=bool(row.refreshable),
        browser_session_id=row.browser_session_id,
    )


# The rotation's statements, built once: constructing them per call cost more than running
# them. Each step is conditional, so a racing request finds nothing to consume.
# A token is consumed only together with a live family of the presenting client and an
# enabled user, so a refused rotation changes nothing.
_LIVE_FAMILY = (
    families.c.client_id == bindparam("client"),
    families.c.revoked_at.is_(None),
    families.c.expires_at > bindparam("now"),
    exists().where(users.c.sub == families.c.sub, users.c.disabled.is_(False)),
)
_CONSUMABLE = (
    refresh_tokens.c.token_hash == bindparam("presented"),
    refresh_tokens.c.used_at.is_(None),
    refresh_tokens.c.expires_at > bindparam("now"),
    families.c.family_id == refresh_tokens.c.family_id,
    *_LIVE_FAMILY,
)
_CONSUME = (
    update(refresh_tokens)
    .where(*_CONSUMABLE)
    .values(used_at=bindparam("now"), successor_hash=bindparam("new_hash"))
    .returning(refresh_tokens.c.family_id)
)
_TOUCH_FAMILY = (
    update(families)
    .where(families.c.family_id == bindparam("fid"))
    .values(last_used_at=bindparam("now"))
    .returning(*families.c)
)
_INSERT_TOKEN = insert(refresh_tokens)
_INSERT_FAMILY = insert(families)
_successor = refresh_tokens.alias("successor")
# PostgreSQL does it all in one statement (data-modifying CTEs): one round trip, atomic on
# its own. It first locks the live family row (FOR UPDATE), as every way of ending a session
# updates that row: a racing revocation either ends the family first (the lock waits for it,
# then re-checks revoked_at on the row's current version and finds nothing to consume), or
# waits for this rotation and then sees its successor, whose access token it denies. A racing
# rotation of the same token waits here too, then finds the token used.
_ROTATE_POSTGRESQL = text("""
WITH live AS (
    SELECT f.family_id
    FROM refresh_families f JOIN refresh_tokens t ON t.family_id = f.family_id
    WHERE t.token_hash = :presented AND f.client_id = :client
      AND f.revoked_at IS NULL AND f.expires_at > :now
      AND EXISTS (SELECT 1 FROM users u WHERE u.sub = f.sub AND NOT u.disabled)
    FOR UPDATE OF f
), consumed AS (
    UPDATE refresh_tokens t SET used_at = :now, successor_hash = :new_hash
    FROM live
    WHERE t.token_hash = :presented AND t.family_id = live.family_id
      AND t.used_at IS NULL AND t.expires_at > :now
    RETURNING t.family_id
), touched AS (
    UPDATE refresh_families f SET last_used_at = :now
    FROM consumed c WHERE f.family_id = c.family_id
    RETURNING f.*
), successor AS (
    INSERT INTO refresh_tokens
        (token_hash, family_id, issued_at, expires_at, access_jti, access_expires_at)
    -- the cap of _token_expiry: a refresh token never outlives its family
    SELECT :new_hash, family_id, :now, LEAST(:now + :ttl, expires_at), :access_jti,
           :access_expires_at
    FROM touched
    RETURNING family_id
)
SELECT touched.* FROM touched JOIN successor USING (family_id)
""")


class SessionsSql(SqlBase):
    # -- refresh-token families ------------------------------------------------------------

    def start_family(
        self,
        family: Family,
        token_hash: str | None = None,
        token_expires_at: int | None = None,
        access: IssuedAccess | None = None,
    ) -> None:
        """Record a login: a family and its first refresh token (expiring at
        ``token_expires_at`` or the family's end, whichever is first), or, for a family that
        is not ``refreshable``, the family alone (one insert)."""

        self._write(lambda conn: insert_family(conn, family, token_hash, token_expires_at, access))

    def rotate_refresh_token(
        self,
        presented_hash: str,
        new_hash: str,
        client_id: str,
        now: int,
        ttl: int,
        access: IssuedAccess | None = None,
    ) -> Rotation:
        """Consume one refresh token and issue its successor, atomically (RFC 9700 §4.14.2).

        The consuming UPDATE is conditional on ``used_at IS NULL``: of two racing requests,
        on any database, exactly one sees a row count of one. A token that is not consumed
        changes nothing: the rotation reports what it found (``Rotation.failure``, and for a
        used token ``Rotation.used``), and the refresh grant decides what that means.
        """

        params = {
            "presented": presented_hash,
            "client": client_id,
            "now": now,
            "new_hash": new_hash,
            "ttl": ttl,
            "access_jti": access.jti if access else None,
            "access_expires_at": access.expires_at if access else None,
        }

        def work(conn: Connection) -> Family | None:
            if conn.dialect.name == "postgresql":
                row = conn.execute(_ROTATE_POSTGRESQL, params).first()
                return _family(row) if row else None
            # Only its own parameters: SQLAlchemy would SET any extra key naming a column.
            consumed = conn.execute(
                _CONSUME,
                {
                    "presented": presented_hash,
                    "client": client_id,
                    "now": now,
                    "new_hash": new_hash,
                },
            ).first()
            if consumed is None:
                return None
            row = conn.execute(_TOUCH_FAMILY, {"fid": consumed.family_id, "now": now}).one()
            family = _family(row)
            successor = {
                "token_hash": new_hash,
                "family_id": family.family_id,
                "issued_at": now,
                "expires_at": _token_expiry(now + ttl, family.expires_at),
                "access_jti": params["access_jti"],
                "access_expires_at": params["access_expires_at"],
            }
            conn.execute(_INSERT_TOKEN, successor)
            return family

        family = self._write(work)
        if family is not None:
            return Rotation(family)
        return self._diagnose(presented_hash, client_id)

    def _diagnose(self, presented_hash: str, client_id: str) -> Rotation:
        """Why a refresh token was not consumed; changes nothing."""
        row = self._first(
            select(
                refresh_tokens.c.used_at,
                refresh_tokens.c.successor_hash,
                families.c.family_id,
                families.c.client_id,
                families.c.sub,
                _successor.c.used_at.label("successor_used_at"),
            )
            .join(families, families.c.family_id == refresh_tokens.c.family_id)
            .outerjoin(_successor, _successor.c.token_hash == refresh_tokens.c.successor_hash)
            .where(refresh_tokens.c.token_hash == presented_hash)
        )
        if row is None:
            return Rotation(None, RotationFailure.UNKNOWN)
        if row.client_id != client_id:
            return Rotation(None, RotationFailure.OTHER_CLIENT)
        if row.used_at is None:
            return Rotation(None, RotationFailure.UNKNOWN)  # expired or family ended
        used = UsedToken(
            row.family_id, row.used_at, row.successor_hash, row.successor_used_at, row.sub
        )
        return Rotation(None, RotationFailure.USED, used)

    def replace_successor(
        self,
        presented_hash: str,
        successor_hash: str,
        new_hash: str,
        client_id: str,
        now: int,
        ttl: int,
        access: IssuedAccess | None = None,
    ) -> Family | None:
        """Issue a used token's successor again: ``successor_hash``, if still unused, stops
        working (and its access token is denied) and ``new_hash`` takes its place.

        All or nothing, and only while the family is live and ``successor_hash`` is the
        presented token's latest, unused successor: of two racing calls, one succeeds.
        None when nothing was changed.
        """

        def work(conn: Connection) -> Family | None:
            live = (
                select(families.c.family_id)
                .join(refresh_tokens, refresh_tokens.c.family_id == families.c.family_id)
                .where(
                    refresh_tokens.c.token_hash == presented_hash,
                    refresh_tokens.c.successor_hash == successor_hash,
                    *_LIVE_FAMILY,
                )
            )
            if conn.dialect.name == "postgresql":
                live = live.with_for_update(of=families)  # the rotation's lock, in its order
            found = conn.execute(live, {"client": client_id, "now": now}).first()
            if found is None:
                return None
            # A statement of its own: it sees a racing call's committed change.
            superseded = conn.execute(
                update(refresh_tokens)
                .where(
                    refresh_tokens.c.token_hash == successor_hash,
                    refresh_tokens.c.family_id == found.family_id,
                    refresh_tokens.c.used_at.is_(None),
                )
                .values(used_at=now)
                .returning(refresh_tokens.c.access_jti, refresh_tokens.c.access_expires_at)
            ).first()
            if superseded is None:
                return None
            if superseded.access_jti is not None:
                deny(conn, [(superseded.access_jti, superseded.access_expires_at)], now)
            conn.execute(
                update(refresh_tokens)
                .where(refresh_tokens.c.token_hash == presented_hash)
                .values(successor_hash=new_hash)
            )
            row = conn.execute(_TOUCH_FAMILY, {"fid": found.family_id, "now": now}).one()
            family = _family(row)
            conn.execute(
                _INSERT_TOKEN,
                {
                    "token_hash": new_hash,
                    "family_id": family.family_id,
                    "issued_at": now,
                    "expires_at": _token_expiry(now + ttl, family.expires_at),
                    **_access_values(access),
                },
            )
            return family

        return self._write(work)

    def revoke_family(self, family_id: str, now: int) -> None:
        """End a session: its refresh tokens stop working and its access tokens are denied."""
        self._write(lambda conn: revoke_families(conn, [family_id], now))

    def end_sessions(
        self, sub: str, now: int, family_id: str | None = None, keep: str | None = None
    ) -> int:
        """Log a user out of one session or of all of them (but ``keep``); returns how many
        ended."""
        return self._write(lambda conn: end_user_sessions(conn, sub, now, family_id, keep))

    def list_sessions(self, sub: str, now: int) -> list[Family]:
        """A user's live sessions, newest first: those with a live refresh token (a login
        without refresh tokens is not one the user can pick out and refresh)."""
        rows = self._all(
            select(families)
            .where(
                families.c.sub == sub,
                families.c.revoked_at.is_(None),
                families.c.expires_at > now,
                _has_live_token(now),
            )
            .order_by(families.c.created_at.desc())
        )
        return [_family(r) for r in rows]

    def inspect_refresh_token(self, token_hash: str) -> RefreshTokenState | None:
        row = self._first(
            select(
                families,
                refresh_tokens.c.issued_at.label("token_issued_at"),
                refresh_tokens.c.expires_at.label("token_expires_at"),
                refresh_tokens.c.used_at,
            )
            .join(refresh_tokens, families.c.family_id == refresh_tokens.c.family_id)
            .where(refresh_tokens.c.token_hash == token_hash)
        )
        if row is None:
            return None
        return RefreshTokenState(
            _family(row), row.token_issued_at, row.token_expires_at, row.used_at
        )

    # -- purge ---------------------------------------------------------------------------------

    def get_family(self, family_id: str) -> Family | None:
        row = self._first(select(families).where(families.c.family_id == family_id))
        return _family(row) if row else None

    def purge(self, now: int, batch: int = 500, max_batches: int | None = None) -> dict[str, int]:
        """Delete dead rows in bounded batches, one short transaction each: ended or expired
        sessions with their tokens (once no access token of theirs lives), and deny-list
        entries whose token has expired anyway."""
        total = {"sessions": 0, "denied_access_tokens": 0}
        batches = 0
        while max_batches is None or batches < max_batches:
            done = self._write(lambda conn: _purge_batch(conn, now, batch))
            batches += 1
            for name, count in done.items():
                total[name] += count
            if max(done.values()) < batch:
                break
        return total


def insert_family(
    conn: Connection,
    family: Family,
    token_hash: str | None = None,
    token_expires_at: int | None = None,
    access: IssuedAccess | None = None,
) -> None:
    """The statements of ``start_family``, for a transaction that starts a session among
    other work (the redemption of an authorization code)."""
    conn.execute(
        _INSERT_FAMILY,
        {
            "family_id": family.family_id,
            "client_id": family.client_id,
            "sub": family.sub,
            "scope": join(family.scope),
            "audience": join(family.audience),
            "auth_time": family.auth_time,
            "created_at": family.created_at,
            "last_used_at": family.last_used_at,
            "expires_at": family.expires_at,
            "refreshable": family.refreshable,
            "browser_session_id": family.browser_session_id,
        },
    )
    if token_hash is None:
        return
    assert family.refreshable and token_expires_at is not None
    conn.execute(
        _INSERT_TOKEN,
        {
            "token_hash": token_hash,
            "family_id": family.family_id,
            "issued_at": family.created_at,
            "expires_at": _token_expiry(token_expires_at, family.expires_at),
            **_access_values(access),
        },
    )


def _purge_batch(conn: Connection, now: int, batch: int) -> dict[str, int]:
    # A session that ended by itself (its age, or no live refresh token) is kept while an
    # access token issued in it lives, so that logging out can still deny it. An ended one
    # has had its access tokens denied already.
    lapsed = or_(
        families.c.expires_at <= now,
        families.c.refreshable.is_(True) & ~_has_live_token(now),
    )
    access_lives = exists().where(
        refresh_tokens.c.family_id == families.c.family_id,
        refresh_tokens.c.access_expires_at > now,
    )
    dead = (
        select(families.c.family_id)
        .where(or_(families.c.revoked_at.is_not(None), lapsed & ~access_lives))
        .limit(batch)
    )
    ids = [r.family_id for r in conn.execute(dead)]
    if ids:
        conn.execute(delete(refresh_tokens).where(refresh_tokens.c.family_id.in_(ids)))
        conn.execute(delete(families).where(families.c.family_id.in_(ids)))
    expired = (
        select(revoked_access_tokens.c.jti)
        .where(revoked_access_tokens.c.expires_at <= now)
        .limit(batch)
    )
    jtis = [r.jti for r in conn.execute(expired)]
    if jtis:
        conn.execute(delete(revoked_access_tokens).where(revoked_access_tokens.c.jti.in_(jtis)))
    return {"sessions": len(ids), "denied_access_tokens": len(jtis)}


def _token_expiry(expires_at: int, family_expires_at: int) -> int:
    """A refresh token never outlives its session: the one cap (the PostgreSQL rotation
    spells it LEAST(...) in its statement)."""
    return min(expires_at, family_expires_at)


def _access_values(access: IssuedAccess | None) -> dict[str, Any]:
    if access is None:
        return {}
    return {"access_jti": access.jti, "access_expires_at": access.expires_at}


def _has_live_token(now: int) -> Any:
    return exists().where(
        refresh_tokens.c.family_id == families.c.family_id,
        refresh_tokens.c.used_at.is_(None),
        refresh_tokens.c.expires_at > now,
    )
