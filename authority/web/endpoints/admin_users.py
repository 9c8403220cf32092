"""``/admin/users``: `authority users list|show|create|update|disable|enable|delete|
set-password|sessions|logout` over HTTP. A user is named by their username, as on the command
line; a password is taken in a body and never answered."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from authority.admin import answers, manage, operations
from authority.admin.provision import user_view
from authority.errors import InvalidField
from authority.web.endpoints.admin import answer, authorised
from authority.web.endpoints.admin_input import ABSENT, members, named, query

# Over HTTP a listing without `limit` is one page of this many, so that no answer grows with
# the number of users (the CLI lists them all).
DEFAULT_PAGE = 100
LISTING = frozenset({"limit", "after", "search"})


async def list_users(request: Request) -> Response:
    call = await authorised(request)
    given = query(request, LISTING)
    limit = DEFAULT_PAGE
    if "limit" in given:
        digits = given["limit"]
        if not (digits.isascii() and digits.isdigit() and len(digits) <= len(str(manage.MAX_PAGE))):
            raise InvalidField(f"limit must be a whole number, 1 to {manage.MAX_PAGE}", "limit")
        limit = int(digits)
    after, search = given.get("after"), given.get("search")
    page = await call.run(lambda: manage.list_users(call.admin, limit, after, search))
    return answer(answers.user_page(page))


async def create_user(request: Request) -> Response:
    call = await authorised(request)
    body = await members(request, frozenset({"username", "password", "email"}))
    username = body.text("username", required=True) or ""
    password = body.text("password", required=True) or ""
    email = body.text("email")
    user = await call.run(lambda: call.admin.create_user(username, password, email))
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
        lambda: manage.update_user(call.admin, username, new_username, address, now)
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
    user = await call.run(lambda: operations.set_user_disabled(call.admin, username, disabled, now))
    return answer(user_view(user))


async def delete_user(request: Request) -> Response:
    call = await authorised(request)
    username = named(request, "username", "user")
    now = call.now()
    user = await call.run(lambda: manage.delete_user(call.admin, username, now))
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
        lambda: call.admin.set_password(username, password, now, end_sessions=not keep)
    )
    return answer(answers.password_set(user, ended, keep))


async def list_sessions(request: Request) -> Response:
    call = await authorised(request)
    username = named(request, "username", "user")
    now = call.now()
    views = await call.run(lambda: operations.sessions(call.admin, username, now))
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
        lambda: operations.end_sessions(call.admin, username, session_id, now)
    )
    return answer(answers.sessions_ended(ended))


USER = "/users/{username}"
ROUTES: list[BaseRoute] = [
    Route("/users", list_users, methods=["GET"], name="admin_list_users"),
    Route("/users", create_user, methods=["POST"], name="admin_create_user"),
    Route(USER, show_user, methods=["GET"], name="admin_show_user"),
    Route(USER, update_user, methods=["PATCH"], name="admin_update_user"),
    Route(USER, delete_user, methods=["DELETE"], name="admin_delete_user"),
    Route(f"{USER}/disable", disable_user, methods=["POST"], name="admin_disable_user"),
    Route(f"{USER}/enable", enable_user, methods=["POST"], name="admin_enable_user"),
    Route(f"{USER}/set-password", set_password, methods=["POST"], name="admin_set_password"),
    Route(f"{USER}/sessions", list_sessions, methods=["GET"], name="admin_list_sessions"),
    Route(f"{USER}/sessions", end_sessions, methods=["DELETE"], name="admin_end_sessions"),
    Route(
        f"{USER}/sessions/{{session_id}}",
        end_session,
        methods=["DELETE"],
        name="admin_end_session",
    ),
]
