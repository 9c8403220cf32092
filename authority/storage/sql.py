"""The one SQL implementation of the storage interfaces, for SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from authority.storage.engine import WRITE, make_engine
from authority.storage.records import (
    Client,
    Conflict,
    Family,
    Rotation,
    RotationFailure,
    SigningKeyInfo,
    User,
)
from authority.storage.tables import clients, families, refresh_tokens, signing_keys, users

T = TypeVar("T")
# SQLSTATEs worth one more try: serialization failure, deadlock, lock not available.
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}


class _Undo(Exception):
    """Raised inside a write transaction to roll it back."""


def _split(value: str) -> tuple[str, ...]:
    return tuple(value.split())


def _join(values: tuple[str, ...] | list[str]) -> str:
    return " ".join(values)


def _client(row: Any) -> Client:
    return Client(
        client_id=row.client_id,
        name=row.name,
        secret_hash=row.secret_hash,
        grant_types=_split(row.grant_types),
        scopes=_split(row.scopes),
        default_scopes=_split(row.default_scopes),
        audiences=_split(row.audiences),
        disabled=bool(row.disabled),
        created_at=row.created_at,
        access_token_alg=row.access_token_alg,
    )


def _user(row: Any) -> User:
    return User(
        sub=row.sub,
        username=row.username,
        email=row.email,
        password_hash=row.password_hash,
        disabled=bool(row.disabled),
        created_at=row.created_at,
    )


def _family(row: Any) -> Family:
    return Family(
        family_id=row.family_id,
        client_id=row.client_id,
        sub=row.sub,
        scope=_split(row.scope),
        audience=_split(row.audience),
        auth_time=row.auth_time,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def _retryable(exc: OperationalError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate in _RETRYABLE_SQLSTATES or "database is locked" in str(exc.orig)


class SqlStorage:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**WRITE)

    @classmethod
    def from_url(cls, url: str) -> SqlStorage:
        return cls(make_engine(url))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def _write(self, work: Callable[[Connection], T], attempts: int = 3) -> T:
        """Run ``work`` in one write transaction; retry a serialization failure or deadlock."""
        for attempt in range(attempts):
            try:
                with self._writer.begin() as conn:
                    return work(conn)
            except OperationalError as exc:
                if attempt == attempts - 1 or not _retryable(exc):
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def ping(self) -> None:
        with self._read() as conn:
            conn.execute(text("SELECT 1"))

    # -- clients ---------------------------------------------------------------------------

    def get_client(self, client_id: str) -> Client | None:
        with self._read() as conn:
            row = conn.execute(select(clients).where(clients.c.client_id == client_id)).first()
        return _client(row) if row else None

    def list_clients(self) -> list[Client]:
        with self._read() as conn:
            rows = conn.execute(select(clients).order_by(clients.c.created_at, clients.c.name))
            return [_client(r) for r in rows]

    def add_client(self, client: Client) -> None:
        values = {
            "client_id": client.client_id,
            "name": client.name,
            "secret_hash": client.secret_hash,
            "grant_types": _join(client.grant_types),
            "scopes": _join(client.scopes),
            "default_scopes": _join(client.default_scopes),
            "audiences": _join(client.audiences),
            "disabled": client.disabled,
            "created_at": client.created_at,
            "access_token_alg": client.access_token_alg,
        }
        try:
            self._write(lambda conn: conn.execute(insert(clients).values(**values)))
        except IntegrityError:
            raise Conflict(f"client {client.client_id!r} exists") from None

    def set_client_disabled(self, client_id: str, disabled: bool) -> bool:
        stmt = update(clients).where(clients.c.client_id == client_id).values(disabled=disabled)
        return self._write(lambda conn: conn.execute(stmt).rowcount) == 1

    def delete_client(self, client_id: str) -> bool:
        def work(conn: Connection) -> int:
            # Explicit, so SQLite files created without foreign keys enforced lose nothing stale.
            fams = select(families.c.family_id).where(families.c.client_id == client_id)
            conn.execute(delete(refresh_tokens).where(refresh_tokens.c.family_id.in_(fams)))
            conn.execute(delete(families).where(families.c.client_id == client_id))
            return conn.execute(delete(clients).where(clients.c.client_id == client_id)).rowcount

        return self._write(work) == 1

    def scopes_in_use(self) -> list[str]:
        with self._read() as conn:
            rows = conn.execute(select(clients.c.scopes).where(clients.c.disabled.is_(False)))
            return sorted({s for (value,) in rows for s in value.split()})

    # -- users -----------------------------------------------------------------------------

    def get_user_by_username(self, username: str) -> User | None:
        with self._read() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        return _user(row) if row else None

    def get_user(self, sub: str) -> User | None:
        with self._read() as conn:
            row = conn.execute(select(users).where(users.c.sub == sub)).first()
        return _user(row) if row else None

    def list_users(self) -> list[User]:
        with self._read() as conn:
            rows = conn.execute(select(users).order_by(users.c.created_at, users.c.username))
            return [_user(r) for r in rows]

    def add_user(self, user: User) -> None:
        values = {
            "sub": user.sub,
            "username": user.username,
            "email": user.email,
            "password_hash": user.password_hash,
            "disabled": user.disabled,
            "created_at": user.created_at,
        }
        try:
            self._write(lambda conn: conn.execute(insert(users).values(**values)))
        except IntegrityError:
            raise Conflict(f"username {user.username!r} is taken") from None

    def set_password_hash(self, sub: str, password_hash: str) -> None:
        stmt = update(users).where(users.c.sub == sub).values(password_hash=password_hash)
        self._write(lambda conn: conn.execute(stmt))

    def set_user_disabled(self, sub: str, disabled: bool, now: int) -> bool:
        def work(conn: Connection) -> int:
            if disabled:  # a disabled user keeps no live session
                conn.execute(
                    update(families)
                    .where(families.c.sub == sub, families.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
            stmt = update(users).where(users.c.sub == sub).values(disabled=disabled)
            return conn.execute(stmt).rowcount

        return self._write(work) == 1

    # -- refresh-token families ------------------------------------------------------------

    def start_family(self, family: Family, token_hash: str, token_expires_at: int) -> None:
        def work(conn: Connection) -> None:
            conn.execute(
                insert(families).values(
                    family_id=family.family_id,
                    client_id=family.client_id,
                    sub=family.sub,
                    scope=_join(family.scope),
                    audience=_join(family.audience),
                    auth_time=family.auth_time,
                    created_at=family.created_at,
                    last_used_at=family.last_used_at,
                    expires_at=family.expires_at,
                )
            )
            conn.execute(
                insert(refresh_tokens).values(
                    token_hash=token_hash,
                    family_id=family.family_id,
                    issued_at=family.created_at,
                    expires_at=token_expires_at,
                )
            )

        self._write(work)

    def rotate_refresh_token(
        self, presented_hash: str, new_hash: str, client_id: str, now: int, ttl: int
    ) -> Rotation:
        """Consume one refresh token and issue its successor, atomically (RFC 9700 §4.14.2).

        The consuming UPDATE is conditional on ``used_at IS NULL``: of two racing requests,
        on any database, exactly one sees a row count of one.
        """

        def work(conn: Connection) -> Rotation:
            consumed = conn.execute(
                update(refresh_tokens)
                .where(
                    refresh_tokens.c.token_hash == presented_hash,
                    refresh_tokens.c.used_at.is_(None),
                    refresh_tokens.c.expires_at > now,
                )
                .values(used_at=now)
                .returning(refresh_tokens.c.family_id)
            ).first()
            if consumed is None:
                return Rotation(None, RotationFailure.UNKNOWN)
            row = conn.execute(
                update(families)
                .where(
                    families.c.family_id == consumed.family_id,
                    families.c.client_id == client_id,
                    families.c.revoked_at.is_(None),
                    families.c.expires_at > now,
                )
                .values(last_used_at=now)
                .returning(*families.c)
            ).first()
            if row is None:
                raise _Undo  # another client's token, or a dead family: consume nothing
            family = _family(row)
            conn.execute(
                insert(refresh_tokens).values(
                    token_hash=new_hash,
                    family_id=family.family_id,
                    issued_at=now,
                    expires_at=min(now + ttl, family.expires_at),
                )
            )
            return Rotation(family)

        try:
            rotation = self._write(work)
        except _Undo:
            rotation = Rotation(None, RotationFailure.UNKNOWN)
        if rotation.family is not None:
            return rotation
        return self._diagnose(presented_hash, client_id, now)

    def _diagnose(self, presented_hash: str, client_id: str, now: int) -> Rotation:
        """Why a refresh token was not consumed; a replay revokes its family before we answer."""
        with self._read() as conn:
            row = conn.execute(
                select(refresh_tokens.c.used_at, families.c.family_id, families.c.client_id)
                .join(families, families.c.family_id == refresh_tokens.c.family_id)
                .where(refresh_tokens.c.token_hash == presented_hash)
            ).first()
        if row is None:
            return Rotation(None, RotationFailure.UNKNOWN)
        if row.client_id != client_id:
            return Rotation(None, RotationFailure.OTHER_CLIENT)
        if row.used_at is None:
            return Rotation(None, RotationFailure.UNKNOWN)  # expired or family ended
        self.revoke_family(row.family_id, now)
        return Rotation(None, RotationFailure.REUSED)

    def revoke_family(self, family_id: str, now: int) -> None:
        stmt = (
            update(families)
            .where(families.c.family_id == family_id, families.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        self._write(lambda conn: conn.execute(stmt))

    def peek_family(self, token_hash: str) -> Family | None:
        """The family a refresh token belongs to, without consuming it."""
        with self._read() as conn:
            row = conn.execute(
                select(families)
                .join(refresh_tokens, families.c.family_id == refresh_tokens.c.family_id)
                .where(refresh_tokens.c.token_hash == token_hash)
            ).first()
        return _family(row) if row else None

    def get_family(self, family_id: str) -> Family | None:
        with self._read() as conn:
            row = conn.execute(select(families).where(families.c.family_id == family_id)).first()
        return _family(row) if row else None

    # -- signing keys ----------------------------------------------------------------------

    def list_signing_keys(self) -> list[SigningKeyInfo]:
        with self._read() as conn:
            rows = conn.execute(select(signing_keys).order_by(signing_keys.c.created_at))
            return [_key(r) for r in rows]

    def add_signing_key(self, key: SigningKeyInfo) -> None:
        self._write(lambda conn: conn.execute(insert(signing_keys).values(**_key_values(key))))

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
                    .where(signing_keys.c.kid == retire, signing_keys.c.state == "active")
                    .values(
                        state="revoked" if revoke else "retired",
                        retired_at=now,
                        removable_at=now if revoke else removable_at,
                        private_key=None if revoke else signing_keys.c.private_key,
                    )
                ).rowcount
                if done != 1:
                    raise _Undo
            if promote is not None:
                done = conn.execute(
                    update(signing_keys)
                    .where(signing_keys.c.kid == promote, signing_keys.c.state == "next")
                    .values(state="active", activated_at=now)
                ).rowcount
                if done != 1:
                    raise _Undo
            if new_next is not None:
                conn.execute(insert(signing_keys).values(**_key_values(new_next)))
            return True

        try:
            return self._write(work)
        except (_Undo, IntegrityError):
            return False

    def remove_signing_keys(self, kids: list[str]) -> None:
        """Retired keys whose tokens have all expired leave the JWKS; the private key goes."""
        stmt = (
            update(signing_keys)
            .where(signing_keys.c.kid.in_(kids), signing_keys.c.state.in_(("retired", "revoked")))
            .values(state="removed", private_key=None)
        )
        self._write(lambda conn: conn.execute(stmt))

    def delete_signing_key(self, kid: str) -> None:
        stmt = delete(signing_keys).where(signing_keys.c.kid == kid)
        self._write(lambda conn: conn.execute(stmt))


def _key(row: Any) -> SigningKeyInfo:
    return SigningKeyInfo(
        kid=row.kid,
        alg=row.alg,
        state=row.state,
        created_at=row.created_at,
        activated_at=row.activated_at,
        retired_at=row.retired_at,
        removable_at=row.removable_at,
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
        "private_key": key.sealed,
    }
