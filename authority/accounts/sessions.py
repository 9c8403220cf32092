"""A user's own sessions (refresh-token families), seen and ended with an access token."""

from __future__ import annotations

from typing import Any

from authority.errors import InvalidToken
from authority.oauth.presented import PresentedTokens, audiences
from authority.storage import Family, User, UserStore


class SessionService:
    def __init__(self, tokens: PresentedTokens, users: UserStore) -> None:
        self.issuer = tokens.issuer
        self._tokens = tokens
        self._sessions = tokens.sessions
        self._users = users

    def authenticate(self, token: str, now: int) -> tuple[User, dict[str, Any]]:
        """The user behind a bearer access token meant for the authority (``aud`` = issuer)."""
        claims = self._tokens.access_claims(token, now)
        if claims is None:
            raise InvalidToken("the access token is invalid or expired")
        if self.issuer not in audiences(claims):
            raise InvalidToken("the access token is not meant for this server")
        if self._sessions.is_access_token_denied(claims["jti"]):
            raise InvalidToken("the access token was revoked")
        user = self._users.get_user(claims["sub"])
        if user is None or user.disabled:
            raise InvalidToken("the access token does not belong to an active user")
        return user, claims

    def list(self, user: User, now: int, current: str | None = None) -> list[dict[str, Any]]:
        return [view(f, current) for f in self._sessions.list_sessions(user.sub, now)]

    def end(self, user: User, now: int, session_id: str | None = None) -> int:
        return self._sessions.end_sessions(user.sub, now, session_id)


def view(family: Family, current: str | None = None) -> dict[str, Any]:
    return {
        "id": family.family_id,
        "client_id": family.client_id,
        "scope": " ".join(family.scope),
        "created_at": family.created_at,
        "last_used_at": family.last_used_at,
        "expires_at": family.expires_at,
        "current": family.family_id == current,
    }
