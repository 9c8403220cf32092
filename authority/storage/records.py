"""What the flows see of stored things: small frozen records, no ORM objects."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from enum import Enum, StrEnum


def username_key(username: str) -> str:
    """What a username is unique under: its case folded (NFKC, casefold, NFKC again, as
    Unicode's NFKC_Casefold), so "Alice", "ALICE" and "alice" are one name."""
    folded = unicodedata.normalize("NFKC", username).casefold()
    return unicodedata.normalize("NFKC", folded)


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    secret_hash: str
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]
    default_scopes: tuple[str, ...]
    audiences: tuple[str, ...]
    disabled: bool
    created_at: int
    access_token_alg: str | None = None  # None: the server's AUTHORITY_ACCESS_TOKEN_ALG
    # Whose access tokens it may introspect beyond its own (RFC 7662 §4): tokens for these
    # audiences (it serves them), or every token.
    resource_servers: tuple[str, ...] = ()
    introspect_any: bool = False
    # Browser sign-in (authorization code + PKCE): the exact redirect URIs it may use, where
    # RP-initiated logout may send the browser, whether it has no secret (SPAs, native apps:
    # token_endpoint_auth_method "none"), and whether the user must approve its scopes.
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    public: bool = False
    consent: bool = False
    # Cookie mode: its refresh token travels only in an httpOnly cookie, never in a body
    # JavaScript could read; and the browser origins its pages are served from (CORS, and the
    # Origin a cookie-authenticated request must come from).
    refresh_cookie: bool = False
    allowed_origins: tuple[str, ...] = ()
    # After a secret rotation: the replaced secret's hash, which still authenticates until
    # ``previous_secret_expires_at`` (the grace period); "" when there is none.
    previous_secret_hash: str = ""
    previous_secret_expires_at: int | None = None


@dataclass(frozen=True)
class User:
    sub: str
    username: str
    email: str | None
    password_hash: str
    disabled: bool
    created_at: int
    email_verified: bool = False
    # Set for a self-registered account until its address is verified or it signs in: an
    # account still unconfirmed long after this is purged as abandoned.
    unconfirmed_since: int | None = None


@dataclass(frozen=True)
class Family:
    """A refresh-token family: one login of one user on one client (a session).

    A login through a client without refresh tokens is a family that is not ``refreshable``:
    no refresh token, one access token whose jti is ``family_id``, expiring with it.
    """

    family_id: str
    client_id: str
    sub: str
    scope: tuple[str, ...]
    audience: tuple[str, ...]
    auth_time: int
    created_at: int
    last_used_at: int
    expires_at: int
    revoked_at: int | None = None
    refreshable: bool = True
    # The browser session (hosted sign-in) it started from: ending that ends this family.
    browser_session_id: str | None = None


@dataclass(frozen=True)
class BrowserSession:
    """A person signed in on the authority's own pages (single sign-on), in one browser.

    The browser holds a secret in a cookie; storage keeps only its hash. ``session_id`` is
    public: the id_token's ``sid``, the id in the session listings.
    """

    session_id: str
    sub: str
    auth_time: int
    amr: tuple[str, ...]
    created_at: int
    last_seen_at: int
    expires_at: int
    ended_at: int | None = None


@dataclass(frozen=True)
class AuthorizationCode:
    """An authorization code (RFC 6749 §4.1.2), stored as its hash: single use, short-lived,
    bound to its client, redirect URI, PKCE challenge (RFC 7636), audience and nonce."""

    code_hash: str
    client_id: str
    redirect_uri: str
    code_challenge: str  # S256 only
    sub: str
    scope: tuple[str, ...]
    audience: tuple[str, ...]
    nonce: str | None
    auth_time: int
    amr: tuple[str, ...]
    browser_session_id: str | None
    created_at: int
    expires_at: int


class RedemptionFailure(Enum):
    UNKNOWN = "unknown"  # no such code, or it expired
    USED = "used"  # redeemed before: ``Redemption.family_id`` is what that use started
    OTHER_CLIENT = "other_client"  # issued to another client; nothing changed


@dataclass(frozen=True)
class SessionStart:
    """A session to record (``start_family``'s arguments), decided by a grant."""

    family: Family
    token_hash: str | None = None  # its first refresh token (None: not refreshable)
    token_expires_at: int | None = None
    access: IssuedAccess | None = None


@dataclass(frozen=True)
class Redemption:
    """What storage found redeeming a code; on success the code is used from now on, and
    ``user`` is its (enabled) user."""

    code: AuthorizationCode | None
    failure: RedemptionFailure | None = None
    family_id: str | None = None  # with USED: the session its first use started
    user: User | None = None


@dataclass(frozen=True)
class Consent:
    """The scopes a user approved for a client (remembered until withdrawn)."""

    sub: str
    client_id: str
    scopes: tuple[str, ...]
    granted_at: int


@dataclass(frozen=True)
class IssuedAccess:
    """The access token issued alongside a refresh token: enough to deny it later."""

    jti: str
    expires_at: int


@dataclass(frozen=True)
class RefreshTokenState:
    """What introspection learns of a refresh token without consuming it."""

    family: Family
    issued_at: int
    expires_at: int
    used_at: int | None


class KeyState(StrEnum):
    """A signing key's place in its lifecycle (authority.keys.lifecycle): published before it
    signs, signing, published after, then gone; ``revoked`` is an emergency's retirement."""

    NEXT = "next"  # published, not signing yet
    ACTIVE = "active"  # signs; exactly one per algorithm
    RETIRED = "retired"  # published, no longer signing, until its tokens have expired
    REVOKED = "revoked"  # retired at once (compromised), its private key dropped
    REMOVED = "removed"  # out of the JWKS, its private key gone

    @classmethod
    def published(cls) -> tuple[KeyState, ...]:
        """The states whose keys the JWKS lists."""
        return (cls.NEXT, cls.ACTIVE, cls.RETIRED)


@dataclass(frozen=True)
class SigningKeyInfo:
    kid: str
    alg: str
    state: KeyState
    created_at: int
    activated_at: int | None = None
    retired_at: int | None = None
    removable_at: int | None = None
    # A next key's promotion an operator scheduled (``keys rotate --at-earliest``), or None.
    promote_at: int | None = None
    # The private key as encrypted PKCS#8 PEM, when keys are kept in the database.
    sealed: bytes | None = field(default=None, repr=False)


class ChangeKind(StrEnum):
    """What servers hold in memory and must see changed at once (``storage.changes``)."""

    KEY = "key"
    CLIENT = "client"
    USER = "user"


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    ident: str | None  # the kid, client_id or sub; None: some of that kind, unknown which


class RotationFailure(Enum):
    UNKNOWN = "unknown"  # no such token, or it expired, or its family ended
    USED = "used"  # already used: ``Rotation.used`` says when, and what became of its successor
    OTHER_CLIENT = "other_client"  # issued to another client; nothing changed


@dataclass(frozen=True)
class UsedToken:
    """A used refresh token as storage found it; nothing was changed."""

    family_id: str
    used_at: int
    successor_hash: str | None  # the token its use issued (None: it was itself superseded)
    successor_used_at: int | None  # None: that successor has not been used (nor superseded)
    sub: str | None = None  # whose session it is


@dataclass(frozen=True)
class Rotation:
    family: Family | None
    failure: RotationFailure | None = None
    used: UsedToken | None = None  # with RotationFailure.USED


# What a link token is for (one_time_tokens.purpose).
VERIFY_EMAIL = "verify_email"
PASSWORD_RESET = "password_reset"  # noqa: S105 (a purpose, not a secret)


@dataclass(frozen=True)
class LinkToken:
    """A single-use token sent in a link (email verification, password reset), as its hash."""

    token_hash: str
    purpose: str
    sub: str
    created_at: int
    expires_at: int


class Registration(Enum):
    CREATED = "created"
    USERNAME_TAKEN = "username_taken"
    EMAIL_TAKEN = "email_taken"


@dataclass(frozen=True)
class AuditRecord:
    """One row of the audit trail: what happened, who did it, to whom, from where. Never a
    secret or a token (a jti or a session id at most). ``id`` is None until stored."""

    at: float  # epoch seconds
    type: str
    actor_kind: str
    actor: str | None = None
    subject: str | None = None
    client_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    detail: dict[str, str | int | bool | None] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True)
class AuditQuery:
    """Which audit records a listing or an export wants: a time range (``since`` included,
    ``until`` excluded), event types (``types`` exact, ``groups`` by prefix: "login" is every
    "login.*"), whom they concern and which client."""

    since: float | None = None
    until: float | None = None
    types: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    subject: str | None = None
    client_id: str | None = None


class Conflict(Exception):
    """A unique value (a username, a client id) is taken."""
