"""What every grant shares: the request it sees, the response it makes, what it may use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from authority.hashing import Passwords, SecretDigest
from authority.params import Params
from authority.storage import Client, SessionStore, UserStore
from authority.tokens import AccessToken, Minter


@dataclass(frozen=True)
class TokenRequest:
    client: Client
    params: Params
    now: int


@dataclass(frozen=True)
class TokenResponse:
    access_token: AccessToken
    scope: tuple[str, ...]
    refresh_token: str | None = None

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


class Grant(Protocol):
    grant_type: ClassVar[str]
    # True when the grant does slow or blocking work and must leave the event loop.
    blocking: ClassVar[bool]
    # How many requests of this grant may run in threads at once (0: the shared default).
    max_threads: ClassVar[int]

    def issue(self, request: TokenRequest) -> TokenResponse: ...
