"""A user's own sessions: list them, end one, or log out everywhere (bearer access token)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from authority.accounts.sessions import SessionService
from authority.web.edge import Edge, needs
from authority.web.requests import bearer_token
from authority.web.responses import NO_STORE, no_store

NO_SUCH_SESSION = {"error": "not_found", "error_description": "no such session"}
# What a session id can look like (``hashing.new_id``, at most the column's 64 characters).
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class SessionEndpoints:
    edge: Edge
    sessions: SessionService


def _session_id(request: Request) -> str | None:
    """The id in the path, or None when no session can have it: an id of another shape (a
    NUL byte, which PostgreSQL refuses in text, or any other control character) is
    answered as an unknown one, never sent to the database."""
    value: str = request.path_params["session_id"]
    return value if _SESSION_ID.fullmatch(value) else None


async def list_sessions(request: Request) -> Response:
    endpoint = needs(request, SessionEndpoints)
    sessions, now = endpoint.sessions, endpoint.edge.now()
    token = bearer_token(request)

    def listed() -> list[dict[str, Any]]:
        user, claims = sessions.authenticate(token, now)
        return sessions.list(user, now, claims.get("sid"))

    return no_store({"sessions": await endpoint.edge.in_thread(listed)})


async def end_session(request: Request) -> Response:
    endpoint = needs(request, SessionEndpoints)
    sessions, now = endpoint.sessions, endpoint.edge.now()
    token = bearer_token(request)
    session_id = _session_id(request)

    def ended() -> int:
        user, _ = sessions.authenticate(token, now)
        return 0 if session_id is None else sessions.end(user, now, session_id)

    if not await endpoint.edge.in_thread(ended):
        return no_store(NO_SUCH_SESSION, 404)
    return Response(status_code=204, headers=NO_STORE)


async def end_all_sessions(request: Request) -> Response:
    """Log out everywhere: every session ends and its access tokens are denied."""
    endpoint = needs(request, SessionEndpoints)
    sessions, now = endpoint.sessions, endpoint.edge.now()
    token = bearer_token(request)

    def ended() -> None:
        user, _ = sessions.authenticate(token, now)
        sessions.end(user, now, None)

    await endpoint.edge.in_thread(ended)
    return Response(status_code=204, headers=NO_STORE)
