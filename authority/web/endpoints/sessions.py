"""A user's own sessions: list them, end one, or log out everywhere. The request is
authenticated by a bearer access token, or by a cookie-mode app's refresh cookie, held to
that cookie's CSRF rules (``authority.web.refresh_cookie``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from authority.accounts.sessions import COOKIE_ENDED, SessionService
from authority.errors import InvalidToken
from authority.storage import User
from authority.web.edge import Edge, needs
from authority.web.refresh_cookie import RefreshCookies, check_origin, csrf_origin
from authority.web.requests import bearer_token
from authority.web.responses import NO_STORE, no_store

NO_SUCH_SESSION = {"error": "not_found", "error_description": "no such session"}
# What a session id can look like (``hashing.new_id``, at most the column's 64 characters).
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Who is asking, worked out off the event loop: the user, the session the credential belongs
# to, whether that credential is the refresh cookie, and the client it was issued to.
Caller = tuple[User, str | None, bool, str | None]


@dataclass(frozen=True)
class SessionEndpoints:
    edge: Edge
    sessions: SessionService
    cookies: RefreshCookies


def _session_id(request: Request) -> str | None:
    """The id in the path, or None when no session can have it: an id of another shape (a
    NUL byte, which PostgreSQL refuses in text, or any other control character) is
    answered as an unknown one, never sent to the database."""
    value: str = request.path_params["session_id"]
    return value if _SESSION_ID.fullmatch(value) else None


def _caller(request: Request, endpoint: SessionEndpoints) -> Callable[[int], Caller]:
    """How the request is authenticated (run the result in a thread): a bearer token, or,
    without an Authorization header, the refresh cookie."""
    sessions = endpoint.sessions
    if "authorization" in request.headers or not endpoint.cookies.present(request):
        token = bearer_token(request)

        def by_token(now: int) -> Caller:
            user, claims = sessions.authenticate(token, now)
            return user, claims.get("sid"), False, claims.get("client_id")

        return by_token
    origin, cookie = csrf_origin(request), endpoint.cookies.read(request)

    def by_cookie(now: int) -> Caller:
        found = sessions.cookie_session(cookie) if cookie else None
        if found is None:
            raise InvalidToken(COOKIE_ENDED)
        check_origin(found.client, origin)
        family = found.family
        return sessions.cookie_user(found, now), family.family_id, True, family.client_id

    return by_cookie


async def list_sessions(request: Request) -> Response:
    endpoint = needs(request, SessionEndpoints)
    sessions, now = endpoint.sessions, endpoint.edge.now()
    caller = _caller(request, endpoint)

    def listed() -> list[dict[str, Any]]:
        user, current, _, _ = caller(now)
        return sessions.list(user, now, current)

    return no_store({"sessions": await endpoint.edge.in_thread(listed)})


async def end_session(request: Request) -> Response:
    endpoint = needs(request, SessionEndpoints)
    sessions, now = endpoint.sessions, endpoint.edge.now()
    caller = _caller(request, endpoint)
    session_id = _session_id(request)

    def ended() -> tuple[int, bool]:
        user, current, by_cookie, client_id = caller(now)
        count = 0 if session_id is None else sessions.end(user, now, session_id, client_id)
        return count, by_cookie and count > 0 and session_id == current

    count, own_cookie = await endpoint.edge.in_thread(ended)
    if not count:
        return no_store(NO_SUCH_SESSION, 404)
    return _ended(endpoint, own_cookie)


async def end_all_sessions(request: Request) -> Response:
    """Log out everywhere: every session ends and its access tokens are denied."""
    endpoint = needs(request, SessionEndpoints)
    sessions, now = endpoint.sessions, endpoint.edge.now()
    caller = _caller(request, endpoint)

    def ended() -> bool:
        user, _, by_cookie, client_id = caller(now)
        sessions.end(user, now, None, client_id)
        return by_cookie

    return _ended(endpoint, await endpoint.edge.in_thread(ended))


def _ended(endpoint: SessionEndpoints, cookie_ended: bool) -> Response:
    """204; the refresh cookie cleared when the session it belongs to has just ended."""
    response = Response(status_code=204, headers=NO_STORE)
    if cookie_ended:
        endpoint.cookies.clear(response)
    return response
