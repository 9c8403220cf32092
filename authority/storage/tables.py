"""SQLModel tables. Times are epoch seconds; lists are space-separated strings."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, false, true
from sqlmodel import Field, SQLModel

# A 64-bit id on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the rowid (autoincrement).
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class ClientRow(SQLModel, table=True):
    __tablename__ = "clients"

    client_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    secret_hash: str = Field(max_length=64)
    grant_types: str = Field(max_length=200)
    scopes: str = Field(default="", max_length=2000)
    default_scopes: str = Field(default="", max_length=2000)
    audiences: str = Field(default="", max_length=4000)
    disabled: bool = Field(default=False)
    created_at: int
    access_token_alg: str | None = Field(default=None, max_length=16)
    resource_servers: str = Field(
        default="", max_length=4000, sa_column_kwargs={"server_default": ""}
    )
    introspect_any: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    redirect_uris: str = Field(default="", max_length=8000, sa_column_kwargs={"server_default": ""})
    post_logout_redirect_uris: str = Field(
        default="", max_length=8000, sa_column_kwargs={"server_default": ""}
    )
    public: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    consent: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    refresh_cookie: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    allowed_origins: str = Field(
        default="", max_length=4000, sa_column_kwargs={"server_default": ""}
    )
    # The secret a rotation replaced, accepted until its expiry (a grace period), or "".
    previous_secret_hash: str = Field(
        default="", max_length=64, sa_column_kwargs={"server_default": ""}
    )
    previous_secret_expires_at: int | None = Field(default=None)


class UserRow(SQLModel, table=True):
    __tablename__ = "users"

    sub: str = Field(primary_key=True, max_length=64)
    username: str = Field(max_length=150, unique=True)
    # storage.username_key(username): unique, so no two usernames differ only in case. NULL
    # only for an account that already collided when the key was introduced (0006).
    username_key: str | None = Field(default=None, max_length=600, unique=True, index=True)
    email: str | None = Field(default=None, max_length=320, index=True)
    password_hash: str = Field(max_length=200)
    disabled: bool = Field(default=False)
    created_at: int
    email_verified: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    unconfirmed_since: int | None = Field(default=None, index=True)


class OneTimeTokenRow(SQLModel, table=True):
    """A single-use link token (email verification, password reset), stored as a hash."""

    __tablename__ = "one_time_tokens"

    token_hash: str = Field(primary_key=True, max_length=64)
    purpose: str = Field(max_length=16)
    sub: str = Field(max_length=64, index=True, foreign_key="users.sub", ondelete="CASCADE")
    created_at: int
    expires_at: int = Field(index=True)
    used_at: int | None = Field(default=None)


class LoginFailureRow(SQLModel, table=True):
    """Failed logins counted per key ("user:NAME", "ip:ADDRESS"), shared by replicas."""

    __tablename__ = "login_failures"

    key: str = Field(primary_key=True, max_length=200)
    failures: int
    locked_until: int
    updated_at: int = Field(index=True)


class RefreshFamilyRow(SQLModel, table=True):
    """One login: every refresh token rotated from it shares the family (a session).

    A login through a client without refresh tokens is a family too (``refreshable`` false):
    it holds no refresh token, its one access token's jti is the family id, and it expires
    with that token; ending it denies the token.
    """

    __tablename__ = "refresh_families"

    family_id: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(
        max_length=64, index=True, foreign_key="clients.client_id", ondelete="CASCADE"
    )
    sub: str = Field(max_length=64, index=True, foreign_key="users.sub", ondelete="CASCADE")
    scope: str = Field(default="", max_length=2000)
    audience: str = Field(default="", max_length=4000)
    auth_time: int
    created_at: int
    last_used_at: int
    expires_at: int = Field(index=True)
    revoked_at: int | None = Field(default=None)
    refreshable: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    browser_session_id: str | None = Field(default=None, max_length=64, index=True)


class RefreshTokenRow(SQLModel, table=True):
    __tablename__ = "refresh_tokens"

    token_hash: str = Field(primary_key=True, max_length=64)
    family_id: str = Field(
        max_length=64, index=True, foreign_key="refresh_families.family_id", ondelete="CASCADE"
    )
    issued_at: int
    expires_at: int
    used_at: int | None = Field(default=None)
    # The access token issued with this refresh token, so ending the session can deny it.
    access_jti: str | None = Field(default=None, max_length=64)
    access_expires_at: int | None = Field(default=None)
    # The token this one's use issued; a retry within the reuse window replaces it.
    successor_hash: str | None = Field(default=None, max_length=64)


class RevokedAccessTokenRow(SQLModel, table=True):
    """The deny-list of revoked access tokens, kept until they expire (introspection)."""

    __tablename__ = "revoked_access_tokens"

    jti: str = Field(primary_key=True, max_length=64)
    expires_at: int = Field(index=True)
    revoked_at: int


class BrowserSessionRow(SQLModel, table=True):
    """A person signed in on the hosted pages in one browser; the cookie's secret is hashed."""

    __tablename__ = "browser_sessions"

    session_id: str = Field(primary_key=True, max_length=64)
    secret_hash: str = Field(max_length=64, unique=True)
    sub: str = Field(max_length=64, index=True, foreign_key="users.sub", ondelete="CASCADE")
    auth_time: int
    amr: str = Field(default="", max_length=200)
    created_at: int
    last_seen_at: int
    expires_at: int = Field(index=True)
    ended_at: int | None = Field(default=None)


class AuthorizationCodeRow(SQLModel, table=True):
    """A redeemed authorization code (codes are sealed, not stored, until then), by its keyed
    hash: its second use is found here, and ``family_id`` is the session its first started."""

    __tablename__ = "authorization_codes"

    code_hash: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(
        max_length=64, index=True, foreign_key="clients.client_id", ondelete="CASCADE"
    )
    redirect_uri: str = Field(max_length=2000)
    code_challenge: str = Field(max_length=128)
    sub: str = Field(max_length=64, index=True, foreign_key="users.sub", ondelete="CASCADE")
    scope: str = Field(default="", max_length=2000)
    audience: str = Field(default="", max_length=4000)
    nonce: str | None = Field(default=None, max_length=512)
    auth_time: int
    amr: str = Field(default="", max_length=200)
    browser_session_id: str | None = Field(default=None, max_length=64)
    created_at: int
    expires_at: int = Field(index=True)
    used_at: int | None = Field(default=None)
    family_id: str | None = Field(default=None, max_length=64)


class ConsentRow(SQLModel, table=True):
    """The scopes a user approved for a client."""

    __tablename__ = "consents"

    sub: str = Field(primary_key=True, max_length=64, foreign_key="users.sub", ondelete="CASCADE")
    client_id: str = Field(
        primary_key=True,
        max_length=64,
        index=True,
        foreign_key="clients.client_id",
        ondelete="CASCADE",
    )
    scopes: str = Field(default="", max_length=2000)
    granted_at: int


class SigningKeyRow(SQLModel, table=True):
    __tablename__ = "signing_keys"

    kid: str = Field(primary_key=True, max_length=64)
    alg: str = Field(max_length=16)
    state: str = Field(max_length=16, index=True)
    created_at: int
    activated_at: int | None = Field(default=None)
    retired_at: int | None = Field(default=None)
    removable_at: int | None = Field(default=None)
    # Encrypted PKCS#8 PEM when AUTHORITY_KEYS_STORE=database; NULL for the folder store.
    private_key: bytes | None = Field(default=None)
    # When the maintenance of any server promotes this next key (``keys rotate --at-earliest``).
    promote_at: int | None = Field(default=None)


class ChangeGenerationRow(SQLModel, table=True):
    """How many changes each kind of thing servers hold in memory (keys, clients, users) has
    seen: bumped in the changing transaction, polled by servers on SQLite (on PostgreSQL they
    are told by NOTIFY instead)."""

    __tablename__ = "change_generations"

    kind: str = Field(primary_key=True, max_length=16)
    generation: int


class AuditEventRow(SQLModel, table=True):
    """The audit trail: append-only (only the retention purge deletes). ``at`` is epoch
    seconds with its fraction; every listing orders by (at, id). Never a secret or a token."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_at", "at", "id"),
        Index("ix_audit_events_type", "type", "at", "id"),
        Index("ix_audit_events_subject", "subject", "at", "id"),
        Index("ix_audit_events_client_id", "client_id", "at", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BIG_ID, primary_key=True))
    at: float
    type: str = Field(max_length=64)
    actor_kind: str = Field(max_length=16)
    actor: str | None = Field(default=None, max_length=200)
    subject: str | None = Field(default=None, max_length=200)
    client_id: str | None = Field(default=None, max_length=64)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=256)
    request_id: str | None = Field(default=None, max_length=128)
    detail: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# Every table model has __table__, which SQLModel's types do not declare.
clients = ClientRow.__table__  # type: ignore[attr-defined]
users = UserRow.__table__  # type: ignore[attr-defined]
families = RefreshFamilyRow.__table__  # type: ignore[attr-defined]
refresh_tokens = RefreshTokenRow.__table__  # type: ignore[attr-defined]
signing_keys = SigningKeyRow.__table__  # type: ignore[attr-defined]
revoked_access_tokens = RevokedAccessTokenRow.__table__  # type: ignore[attr-defined]
one_time_tokens = OneTimeTokenRow.__table__  # type: ignore[attr-defined]
login_failures = LoginFailureRow.__table__  # type: ignore[attr-defined]
browser_sessions = BrowserSessionRow.__table__  # type: ignore[attr-defined]
authorization_codes = AuthorizationCodeRow.__table__  # type: ignore[attr-defined]
consents = ConsentRow.__table__  # type: ignore[attr-defined]
audit_events = AuditEventRow.__table__  # type: ignore[attr-defined]
change_generations = ChangeGenerationRow.__table__  # type: ignore[attr-defined]
metadata = SQLModel.metadata
