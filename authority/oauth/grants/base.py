"""What every grant shares: the request it sees, the response it makes, what it may use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from authority.credentials.hashing import Passwords, SecretDigest
from authority.credentials.throttle import LoginThrottle, Unthrottled
from authority.events import Events, unheard
from authority.oauth.claims_hook import ClaimsHook
from authority.oauth.codes import CodeSealer
from authority.oauth.params import Params
from authority.oauth.tokens import AccessToken, Minter
from authority.storage import Client, CodeStore, SessionStore, User, UserStore


@dataclass(frozen=True)
class TokenRequest:
    client: Client
    params: Params
    now: int
    client_ip: str | None = None  # for brute-force counting; behind a trusted proxy header


class IdTokens(Protocol):
    """OIDC Core §2 id_tokens, issued by the user grants when scope holds ``openid``."""

    def issue(
        self,
        user: User,
        client: Client,
        scope: tuple[str, ...],
        now: int,
        auth_time: int,
        *,
        amr: tuple[str, ...] = ("pwd",),
        nonce: str | None = None,
        sid: str | None = None,
        access_token: str | None = None,
    ) -> str: ...


@dataclass(frozen=True)
class TokenResponse:
    access_token: AccessToken
    scope: tuple[str, ...]
    refresh_token: str | None = None
    id_token: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """RFC 6749 §5.1."""
        body: dict[str, Any] = {
            "access_token": self.access_token.token,
            "token_type": "Bearer",
            "expires_in": self.access_token.expires_in,
        }
        if self.scope:
            body["scope"] = " ".join(self.scope)
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        if self.id_token is not None:
            body["id_token"] = self.id_token
        return body


@dataclass(frozen=True)
class GrantContext:
    issuer: str
    refresh_token_ttl: int
    session_max_age: int
    minter: Minter
    digest: SecretDigest
    passwords: Passwords
    users: UserStore
    sessions: SessionStore
    throttle: LoginThrottle = field(default_factory=Unthrottled)
    id_tokens: IdTokens | None = None
    require_verified_email: bool = False
    # Seconds after its use in which a refresh token's own client may retry it (0: never).
    refresh_reuse_window: int = 10
    # The authorization_code grant's: how codes are opened, and where their use is recorded.
    code_sealer: CodeSealer | None = None
    codes: CodeStore | None = None
    claims_hook: ClaimsHook | None = None  # AUTHORITY_CLAIMS_HOOK
    events: Events = field(default_factory=unheard)

    def extra_claims(
        self, user: User | str, client_id: str, scope: tuple[str, ...], grant_type: str
    ) -> dict[str, Any]:
        """The claims hook's for a user's access token (``user`` or its sub); none, and no
        lookup, without a hook. A grant calls it before it commits anything, so a failing
        hook leaves the code or refresh token usable."""
        if self.claims_hook is None:
            return {}
        if isinstance(user, str):
            found = self.users.get_user(user)
            if found is None or found.disabled:
                return {}  # the grant's own checks refuse this user, as without a hook
            user = found
        return self.claims_hook.claims(user, client_id, scope, grant_type)


class Grant(Protocol):
    grant_type: ClassVar[str]
    # True when the grant does slow or blocking work and must leave the event loop.
    blocking: ClassVar[bool]
    # How many requests of this grant may run in threads at once (0: the shared default).
    max_threads: ClassVar[int]

    def issue(self, request: TokenRequest) -> TokenResponse: ...
