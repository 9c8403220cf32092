"""A user's own sessions, seen and ended with an access token (or a cookie-mode app's
refresh cookie): the sessions of apps (refresh-token families) and the browsers signed in on
the hosted pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authority.errors import InvalidToken
from authority.events import ActorKind, Events, EventType, unheard
from authority.oauth.presented import PresentedTokens, live
from authority.storage import (
    BrowserSession,
    BrowserSessionStore,
    Client,
    ClientStore,
    Family,
    RefreshTokenState,
    SessionStore,
    User,
    UserStore,
)

COOKIE_ENDED = "the refresh cookie's session has ended: sign in again"


@dataclass(frozen=True)
class CookieSession:
    """The session a browser's refresh cookie belongs to, and that session's client (None
    when it was deleted)."""

    state: RefreshTokenState
    client: Client | None

    @property
    def family(self) -> Family:
        return self.state.family


class SessionService:
    def __init__(
        self,
        tokens: PresentedTokens,
        users: UserStore,
        browsers: BrowserSessionStore,
        clients: ClientStore,
        events: Events | None = None,
    ) -> None:
        self.issuer = tokens.issuer
        self._tokens = tokens
        self._sessions = tokens.sessions
        self._users = users
        self._browsers = browsers
        self._clients = clients
        self._events = events or unheard()

    def cookie_session(self, token: str) -> CookieSession | None:
        """What a refresh cookie names, live or not; None for a token no session knows."""
        state = self._tokens.any_refresh_state(token)
        if state is None:
            return None
        return CookieSession(state, self._clients.get_client(state.family.client_id))

    def cookie_user(self, found: CookieSession, now: int) -> User:
        """The user a refresh cookie signs in, while its token would still rotate."""
        if not live(found.state, now):
            raise InvalidToken(COOKIE_ENDED)
        user = self._users.get_user(found.family.sub)
        if user is None or user.disabled:
            raise InvalidToken("the refresh cookie does not belong to an active user")
        return user

    def end_cookie_session(self, found: CookieSession, now: int) -> None:
        """Logout of a cookie-mode app: its session ends, its access tokens are denied."""
        family = found.family
        self._sessions.revoke_family(family.family_id, now)
        self._events.record(
            EventType.LOGOUT,
            ActorKind.USER,
            family.sub,
            family.sub,
            family.client_id,
            session_id=family.family_id,
            way="refresh cookie",
        )

    def authenticate(self, token: str, now: int) -> tuple[User, dict[str, Any]]:
        """The user behind a bearer access token meant for the authority (``aud`` = issuer)."""
        claims = self._tokens.own_access_claims(token, now)
        user = self._users.get_user(claims["sub"])
        if user is None or user.disabled:
            raise InvalidToken("the access token does not belong to an active user")
        return user, claims

    def list(self, user: User, now: int, current: str | None = None) -> list[dict[str, Any]]:
        return views(
            self._sessions.list_sessions(user.sub, now),
            self._browsers.list_browser_sessions(user.sub, now),
            current,
        )

    def end(
        self, user: User, now: int, session_id: str | None = None, client_id: str | None = None
    ) -> int:
        """The user ends one of their sessions, or (no id) every one: logout everywhere.
        ``client_id`` is the client of the credential that asked."""
        ended = end(self._sessions, self._browsers, user.sub, now, session_id)
        if session_id is None:
            self._events.record(
                EventType.LOGOUT_EVERYWHERE,
                ActorKind.USER,
                user.sub,
                user.sub,
                client_id,
                ended=ended,
            )
        elif ended:
            self._events.record(
                EventType.LOGOUT,
                ActorKind.USER,
                user.sub,
                user.sub,
                client_id,
                session_id=session_id,
                way="sessions endpoint",
            )
        return ended


def end(
    sessions: SessionStore,
    browsers: BrowserSessionStore,
    sub: str,
    now: int,
    session_id: str | None = None,
) -> int:
    """End one of ``sub``'s sessions, an app's or a browser's (and the apps' started from
    it), or, with no id, every one of them; returns how many ended."""
    ended = sessions.end_sessions(sub, now, session_id)
    if ended or session_id is None:
        return ended
    return int(browsers.end_browser_session(session_id, now, sub))


def views(
    families: list[Family], browsers: list[BrowserSession], current: str | None = None
) -> list[dict[str, Any]]:
    """The listing of a user's sessions: apps' first, then browsers'."""
    return [view(f, current) for f in families] + [browser_view(b) for b in browsers]


def view(family: Family, current: str | None = None) -> dict[str, Any]:
    return {
        "id": family.family_id,
        "kind": "app",
        "client_id": family.client_id,
        "scope": " ".join(family.scope),
        "created_at": family.created_at,
        "last_used_at": family.last_used_at,
        "expires_at": family.expires_at,
        "current": family.family_id == current,
    }


def browser_view(session: BrowserSession) -> dict[str, Any]:
    """A browser signed in on the hosted pages; never the current session of a token (a
    token's ``sid`` names its family)."""
    return {
        "id": session.session_id,
        "kind": "browser",
        "created_at": session.created_at,
        "auth_time": session.auth_time,
        "expires_at": session.expires_at,
        "current": False,
    }
