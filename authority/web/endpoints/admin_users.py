"""``/admin/users``: `authority users list|show|create|update|disable|enable|delete|
set-password|sessions|logout` over HTTP. A user is named by their username, as on the command
line; a password is taken in a body and never answered."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from authority.admin import answers, manage
from authority.admin.provision import user_view
from authority.web.endpoints.admin import answer, authorised, resource
from authority.web.endpoints.admin_input import ABSENT, Query, members, named

# Over HTTP a listing without `limit` is one page of this many, so that no answer grows with
# the number of users (the CLI lists them all).
DEFAULT_PAGE = 100
LISTING = frozenset({"limit", "after", "search"})


async def list_users(request: Request) -> Response:
    call = await authorised(request)
    given = Query(request, LISTING)
    limit = given.number("limit", 1, manage.MAX_PAGE) or DEFAULT_PAGE
    after, search = given.text("after"), given.text("search")
    page = await call.run(lambda: manage.list_users(call.admin, limit, after, search))
    return answer(answers.user_page(page))


async def create_user(request: Request) -> Response:
    call = await authorised(request)
    body = await members(request, frozenset({"username", "password", "email"}))
    username = body.text("username", required=True) or ""
    password = body.text("password", required=True) or ""
    email = body.text("email")
    user = await call.run(lambda: call.admin.create_user(username, password, email, call.actor))
    return answer(user_view(user), 201)


async def show_user(request: Request) -> Response:
    call = await authorised(request)
    username = named(request, "username", "user")
    user = await call.run(lambda: call.admin.user(username))
    return answer(user_view(user))


async def update_user(request: Request) -> Response:
    """A new username, and the address: a string sets it, null removes it."""
    call = await authorised(request)
    username = named(request, "username", "user")
    body = await members(request, frozenset({"username", "email"}))
    new_username = body.text("username")
    email = body.nullable_text("email")
    address = manage.KEEP if email is ABSENT else email
    now = call.now()
    user = await call.run(
        lambda: manage.update_user(call.admin, username, new_username, address, now, call.actor)
    )
    return answer(user_view(user))


async def disable_user(request: Request) -> Response:
    return await _switch(request, disabled=True)


async def enable_user(request: Request) -> Response:
    return await _switch(request, disabled=False)


async def _switch(request: Request, disabled: bool) -> Response:
    call = await authorised(request)
    username = named(request, "username", "user")
    await members(request)  # none: an empty body or {}
    now = call.now()
    user = await call.run(
        lambda: manage.set_user_disabled(call.admin, username, disabled, now, call.actor)
    )
    return answer(user_view(user))


async def delete_user(request: Request) -> Response:
    call = await authorised(request)
    username = named(request, "username", "user")
    now = call.now()
    user = await call.run(lambda: manage.delete_user(call.admin, username, now, call.actor))
    return answer(answers.user_deleted(user))


async def set_password(request: Request) -> Response:
    """Every session ends, as after a reset, unless ``keep_sessions`` is true."""
    call = await authorised(request)
    username = named(request, "username", "user")
    body = await members(request, frozenset({"password", "keep_sessions"}))
    password = body.text("password", required=True) or ""
    keep = bool(body.flag("keep_sessions"))
    now = call.now()
    user, ended = await call.run(
        lambda: call.admin.set_password(username, password, now, not keep, call.actor)
    )
    return answer(answers.password_set(user, ended, keep))


async def list_sessions(request: Request) -> Response:
    call = await authorised(request)
    username = named(request, "username", "user")
    now = call.now()
    views = await call.run(lambda: manage.sessions(call.admin, username, now))
    return answer(answers.session_list(views))


async def end_sessions(request: Request) -> Response:
    """Log the user out everywhere: every session ends, its access tokens denied."""
    return await _end(request, one=False)


async def end_session(request: Request) -> Response:
    return await _end(request, one=True)


async def _end(request: Request, one: bool) -> Response:
    call = await authorised(request)
    username = named(request, "username", "user")
    session_id = named(request, "session_id", "session") if one else None
    now = call.now()
    _, ended = await call.run(
        lambda: manage.end_sessions(call.admin, username, session_id, now, call.actor)
    )
    return answer(answers.sessions_ended(ended))


USER = "/users/{username}"
ROUTES: list[BaseRoute] = [
    resource("/users", "admin_users", GET=list_users, POST=create_user),
    resource(USER, "admin_user", GET=show_user, PATCH=update_user, DELETE=delete_user),
    resource(f"{USER}/disable", "admin_disable_user", POST=disable_user),
    resource(f"{USER}/enable", "admin_enable_user", POST=enable_user),
    resource(f"{USER}/set-password", "admin_set_password", POST=set_password),
    resource(f"{USER}/sessions", "admin_sessions", GET=list_sessions, DELETE=end_sessions),
    resource(f"{USER}/sessions/{{session_id}}", "admin_session", DELETE=end_session),
]
