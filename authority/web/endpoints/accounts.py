"""Self-service accounts over HTTP: registration, the pages and forms that links in emails
open, and the password change of a signed-in user. The logic is ``authority.accounts``.

CSRF: no endpoint here acts on ambient credentials. There are no cookies; the forms' only
secret is the single-use token inside the form itself, which a cross-site page cannot know
(and whoever knows it needs no forged request). The password change takes a bearer token
from the Authorization header, which a browser never adds by itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from authority.accounts import Accounts
from authority.accounts.sessions import SessionService
from authority.errors import InvalidLink, RegistrationClosed, WeakPassword
from authority.storage import PASSWORD_RESET, VERIFY_EMAIL
from authority.web.edge import Edge, needs
from authority.web.requests import bearer_token, query_token, read_fields, wants_html
from authority.web.responses import answer_in_html, no_store, page

# The same answer for every address, known or not, throttled or not (no enumeration).
RESET_REQUESTED = {
    "status": "accepted",
    "message": "if an account has this email address, a reset link is on its way to it",
}


@dataclass(frozen=True)
class AccountEndpoints:
    edge: Edge
    accounts: Accounts
    sessions: SessionService  # who a bearer token of the password change belongs to
    min_length: int  # of a password, as the reset form tells it


async def register(request: Request) -> Response:
    endpoint = needs(request, AccountEndpoints)
    edge = endpoint.edge
    if not endpoint.accounts.registration_open:
        raise RegistrationClosed()
    params = await read_fields(request)
    username = params.required("username")
    email = params.required("email")
    password = params.required("password")
    sub, mail_job = await edge.in_thread(
        endpoint.accounts.register,
        username,
        email,
        password,
        edge.client_ip(request),
        edge.now(),
    )
    return no_store({"sub": sub}, 201, after=mail_job)


async def _usable_link(request: Request, endpoint: AccountEndpoints, purpose: str) -> str:
    """The token of the link a page was opened with, if it can still be used (read only)."""
    answer_in_html(request)
    token = query_token(request)
    edge = endpoint.edge
    if token is None or not await edge.in_thread(
        endpoint.accounts.link_is_usable, token, purpose, edge.now()
    ):
        raise InvalidLink()
    return token


# -- email verification -------------------------------------------------------------------


async def verify_page(request: Request) -> Response:
    """The verification link opens this page; only its button, a POST, verifies: mail
    scanners and link previews fetch links too, and a GET must change nothing."""
    endpoint = needs(request, AccountEndpoints)
    token = await _usable_link(request, endpoint, VERIFY_EMAIL)
    return page(request, "verify.html", token=token)


async def verify_email(request: Request) -> Response:
    endpoint = needs(request, AccountEndpoints)
    edge = endpoint.edge
    html = wants_html(request)
    answer_in_html(request, html)
    params = await read_fields(request)
    token = params.required("token")
    await edge.in_thread(endpoint.accounts.verify_email, token, edge.now())
    if html:
        return page(
            request,
            "message.html",
            title="Email address confirmed",
            text="Thank you: your address is confirmed.",
        )
    return no_store({"status": "email_verified"})


# -- password reset -----------------------------------------------------------------------


async def request_reset(request: Request) -> Response:
    """Always 202 with one body. The request path does the same work for every address
    (parse, count for the throttle); looking the address up and mailing the link run after
    the answer, so neither its outcome nor its latency shows."""
    endpoint = needs(request, AccountEndpoints)
    edge = endpoint.edge
    params = await read_fields(request)
    email = params.required("email")
    mail_job = await edge.in_thread(
        endpoint.accounts.request_reset,
        email,
        edge.client_ip(request),
        edge.now(),
    )
    return no_store(RESET_REQUESTED, 202, after=mail_job)


async def reset_page(request: Request) -> Response:
    """The reset link opens this form; it posts to ``/accounts/password/reset/confirm``."""
    endpoint = needs(request, AccountEndpoints)
    token = await _usable_link(request, endpoint, PASSWORD_RESET)
    return page(request, "reset.html", token=token, min_length=endpoint.min_length, problem=None)


async def confirm_reset(request: Request) -> Response:
    endpoint = needs(request, AccountEndpoints)
    edge = endpoint.edge
    html = wants_html(request)
    answer_in_html(request, html)
    params = await read_fields(request)
    token = params.required("token")
    new_password = params.required("new_password")
    try:
        await edge.in_thread(endpoint.accounts.reset_password, token, new_password, edge.now())
    except WeakPassword as refused:
        if not html:
            raise
        # The link is still good (a refused password does not use it): the form again.
        return page(
            request,
            "reset.html",
            400,
            token=token,
            min_length=endpoint.min_length,
            problem=refused.description,
        )
    if html:
        return page(
            request,
            "message.html",
            title="Password changed",
            text=(
                "Your new password is set, and every session of your account has ended: "
                "sign in again with the new password."
            ),
        )
    return no_store({"status": "password_reset"})


# -- password change ----------------------------------------------------------------------


async def change_password(request: Request) -> Response:
    """A signed-in user's change: an access token for the authority (``aud`` = issuer) and
    the current password. Every other session ends; this one stays (see Accounts)."""
    endpoint = needs(request, AccountEndpoints)
    edge = endpoint.edge
    now = edge.now()
    token = bearer_token(request)
    user, claims = await edge.in_thread(endpoint.sessions.authenticate, token, now)
    params = await read_fields(request)
    current = params.required("current_password")
    new = params.required("new_password")
    sid = claims.get("sid")
    ended = await edge.in_thread(
        endpoint.accounts.change_password,
        user,
        sid if isinstance(sid, str) else None,
        current,
        new,
        edge.client_ip(request),
        now,
    )
    return no_store({"status": "password_changed", "sessions_ended": ended})
