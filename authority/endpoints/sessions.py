"""A user's own sessions: list them, end one, or log out everywhere (bearer access token)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authority.errors import InvalidRequestError
from authority.http import NO_STORE, bearer_token, no_store
from authority.service import Authority


async def list_sessions(request: Request) -> Response:
    authority: Authority = request.app.state.authority
    now = authority.now()
    user, claims = authority.sessions.authenticate(bearer_token(request), now)
    sessions = await run_in_threadpool(authority.sessions.list, user, now, claims.get("sid"))
    return no_store({"sessions": sessions})


async def end_session(request: Request) -> Response:
    authority: Authority = request.app.state.authority
    now = authority.now()
    user, _ = authority.sessions.authenticate(bearer_token(request), now)
    session_id = request.path_params["session_id"]
    if len(session_id) > 64:
        raise InvalidRequestError("no such session")
    ended = await run_in_threadpool(authority.sessions.end, user, now, session_id)
    if not ended:
        return no_store({"error": "not_found", "error_description": "no such session"}, 404)
    return Response(status_code=204, headers=NO_STORE)


async def end_all_sessions(request: Request) -> Response:
    """Log out everywhere: every session ends and its access tokens are denied."""
    authority: Authority = request.app.state.authority
    now = authority.now()
    user, _ = authority.sessions.authenticate(bearer_token(request), now)
    await run_in_threadpool(authority.sessions.end, user, now, None)
    return Response(status_code=204, headers=NO_STORE)
