"""Signing-key metadata, and sealed private keys for the database key store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Executable, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from authority.storage.changes import signal
from authority.storage.records import ChangeKind, KeyState, SigningKeyInfo
from authority.storage.sql_base import SqlBase, Undo
from authority.storage.tables import signing_keys


class KeysSql(SqlBase):
    # -- signing keys ----------------------------------------------------------------------

    def list_signing_keys(self) -> list[SigningKeyInfo]:
        rows = self._all(select(signing_keys).order_by(signing_keys.c.created_at))
        return [_key(r) for r in rows]

    def add_signing_key(self, key: SigningKeyInfo) -> None:
        def work(conn: Connection) -> None:
            conn.execute(insert(signing_keys).values(**_key_values(key)))
            signal(conn, ChangeKind.KEY, key.kid)

        self._write(work)

    def schedule_promotion(self, kid: str, at: int) -> bool:
        """Have the next key ``kid`` promoted at ``at`` by whichever server's key maintenance
        finds it due first; False when ``kid`` is no longer the next key."""
        stmt = (
            update(signing_keys)
            .where(signing_keys.c.kid == kid, signing_keys.c.state == KeyState.NEXT)
            .values(promote_at=at)
        )
        return self._change_keys(stmt, kid)

    def _change_keys(self, stmt: Executable, kid: str | None) -> bool:
        """Run an UPDATE of signing keys; every server reloads its keys once it commits."""

        def work(conn: Connection) -> bool:
            if not conn.execute(stmt).rowcount:
                return False
            signal(conn, ChangeKind.KEY, kid)
            return True

        return self._write(work)

    def swap_signing_keys(
        self,
        retire: str | None,
        promote: str | None,
        new_next: SigningKeyInfo | None,
        now: int,
        removable_at: int,
        revoke: bool = False,
    ) -> bool:
        """One rotation step in one transaction: active -> retired (or revoked), next -> active,
        a new next. Each change is conditional on the state it expects, so when two replicas
        rotate at once exactly one commits; the other gets False and changes nothing."""

        def work(conn: Connection) -> bool:
            if retire is not None:
                done = conn.execute(
                    update(signing_keys)
                    .where(signing_keys.c.kid == retire, signing_keys.c.state == KeyState.ACTIVE)
                    .values(
                        state=KeyState.REVOKED if revoke else KeyState.RETIRED,
                        retired_at=now,
                        removable_at=now if revoke else removable_at,
                        private_key=None if revoke else signing_keys.c.private_key,
                    )
                ).rowcount
                if done != 1:
                    raise Undo
            if promote is not None:
                done = conn.execute(
                    update(signing_keys)
                    .where(signing_keys.c.kid == promote, signing_keys.c.state == KeyState.NEXT)
                    .values(state=KeyState.ACTIVE, activated_at=now, promote_at=None)
                ).rowcount
                if done != 1:
                    raise Undo
            if new_next is not None:
                conn.execute(insert(signing_keys).values(**_key_values(new_next)))
            signal(conn, ChangeKind.KEY, promote or retire)
            return True

        try:
            return self._write(work)
        except (Undo, IntegrityError):
            return False

    def remove_signing_keys(self, kids: list[str]) -> None:
        """Retired keys whose tokens have all expired leave the JWKS; the private key goes."""
        stmt = (
            update(signing_keys)
            .where(
                signing_keys.c.kid.in_(kids),
                signing_keys.c.state.in_((KeyState.RETIRED, KeyState.REVOKED)),
            )
            .values(state=KeyState.REMOVED, private_key=None)
        )
        self._change_keys(stmt, None)

    def delete_signing_key(self, kid: str) -> None:
        self._change_keys(delete(signing_keys).where(signing_keys.c.kid == kid), kid)


def _key(row: Any) -> SigningKeyInfo:
    return SigningKeyInfo(
        kid=row.kid,
        alg=row.alg,
        state=KeyState(row.state),
        created_at=row.created_at,
        activated_at=row.activated_at,
        retired_at=row.retired_at,
        removable_at=row.removable_at,
        promote_at=row.promote_at,
        sealed=row.private_key,
    )


def _key_values(key: SigningKeyInfo) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "alg": key.alg,
        "state": key.state,
        "created_at": key.created_at,
        "activated_at": key.activated_at,
        "retired_at": key.retired_at,
        "removable_at": key.removable_at,
        "promote_at": key.promote_at,
        "private_key": key.sealed,
    }
