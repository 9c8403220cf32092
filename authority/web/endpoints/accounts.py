"""Self-service accounts over HTTP: registration, the pages and forms that links in emails
open, and the password change of a signed-in user. The logic is ``authority.accounts``.

CSRF: no endpoint here acts on ambient credentials. There are no cookies; the forms' only
secret is the single-use token inside the form itself, which a cross-site page cannot know
(and whoever knows it needs no forged request). The registration and forgotten-password
forms carry no secret at all: they act for nobody (no cookie is read or set, nothing is
signed in), so a request another site forges in a browser does exactly what that site
could do by posting itself. The password change takes a bearer token from the
Authorization header, which a browser never adds by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from authority.accounts import USERNAME_RULE, Accounts, Job
from authority.accounts.sessions import SessionService
from authority.errors import (
    InvalidLink,
    InvalidRequestError,
    RegistrationClosed,
    UsernameTaken,
    WeakPassword,
)
from authority.storage import PASSWORD_RESET, VERIFY_EMAIL
from authority.web.edge import Edge, needs
from authority.web.requests import bearer_token, query_token, read_fields, wants_html
from authority.web.responses import answer_in_html, no_store, page

# The same answer for every address, known or not, throttled or not (no enumeration).
RESET_REQUESTED = {
    "status": "accepted",
    "message": "if an account has this email address, a reset link is on its way to it",
}
VERIFICATION_REQUESTED = {
    "status": "accepted",
    "message": (
        "if an account has this email address and it is not verified yet, a new verification "
        "link is on its way to it"
    ),
}
# Where the page of a link that no longer works sends its reader for a new one (relative, so
# the pages work under any base path), by the path the link opened.
_ASK_AGAIN = {
    "/accounts/verify-email": ("verify-email/resend", "Send me a new link"),
    "/accounts/password/reset": ("forgot", "Send me a new link"),
    "/accounts/password/reset/confirm": ("../forgot", "Send me a new link"),
}


@dataclass(frozen=True)
class AccountEndpoints:
    edge: Edge
    accounts: Accounts
    sessions: SessionService  # who a bearer token of the password change belongs to
    min_length: int  # of a password, as the reset form tells it


# -- registration -------------------------------------------------------------------------

# What a browser's registration form may be shown again for, with the reason: a mistake
# the person can fix in the form.
_FIXABLE = (InvalidRequestError, UsernameTaken, WeakPassword)


def _register_form(
    request: Request,
    endpoint: AccountEndpoints,
    status: int = 200,
    problem: str | None = None,
    username: str = "",
    email: str = "",
) -> Response:
    return page(
        request,
        "register.html",
        status,
        problem=problem,
        username=username,
        email=email,
        username_rule=USERNAME_RULE,
        min_length=endpoint.min_length,
    )


async def register_page(request: Request) -> Response:
    """The registration form the login page links to; it posts to ``register``. There is
    none while registration is closed."""
    endpoint = needs(request, AccountEndpoints)
    if not endpoint.accounts.registration_open:
        raise HTTPException(404, "Not Found")
    return _register_form(request, endpoint)


async def register(request: Request) -> Response:
    endpoint = needs(request, AccountEndpoints)
    edge = endpoint.edge
    html = wants_html(request)
    answer_in_html(request, html)
    if not endpoint.accounts.registration_open:
        raise RegistrationClosed()
    params = await read_fields(request)
    try:
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
    except _FIXABLE as refused:
        if not html:
            raise
        return _register_form(
            request,
            endpoint,
            refused.status_code,
            refused.description,
            params.one("username") or "",
            params.one("email") or "",
        )
    if html:
        answer = page(
            request,
            "message.html",
            201,
            title="Check your email",
            text=(
                "Your account is created. To confirm your email address, open the link "
                "that is on its way to it."
            ),
        )
        return _after(answer, mail_job)
    return no_store({"sub": sub}, 201, after=mail_job)


def _after(response: Response, job: Job | None) -> Response:
    """``job`` runs once ``response`` is sent (on a thread), as ``no_store``'s ``after``."""
    if job is not None:
        response.background = BackgroundTask(job)
    return response


async def _usable_link(request: Request, endpoint: AccountEndpoints, purpose: str) -> str | None:
    """The token of the link a page was opened with, if it can still be used (read only)."""
    answer_in_html(request)
    token = query_token(request)
    edge = endpoint.edge
    if token is None or not await edge.in_thread(
        endpoint.accounts.link_is_usable, token, purpose, edge.now()
    ):
        return None
    return token


def _invalid_link_page(request: Request) -> Response:
    """The page of a link that no longer works: the error says to ask for a new one, and
    links to where that is done."""
    return page(
        request,
        "error.html",
        InvalidLink.status_code,
        text=InvalidLink.description,
        title="Something went wrong",
        again=_ASK_AGAIN[request.url.path],
    )


# -- email verification -------------------------------------------------------------------


async def verify_page(request: Request) -> Response:
    """The verification link opens this page; only its button, a POST, verifies: mail
    scanners and link previews fetch links too, and a GET must change nothing."""
    endpoint = needs(request, AccountEndpoints)
    token = await _usable_link(request, endpoint, VERIFY_EMAIL)
    if token is None:
        return _invalid_link_page(request)
    return page(request, "verify.html", token=token)


async def verify_email(request: Request) -> Response:
    endpoint = needs(request, AccountEndpoints)
    edge = endpoint.edge
    html = wants_html(request)
    answer_in_html(request, html)
    params = await read_fields(request)
    token = params.required("token")
    try:
        await edge.in_thread(endpoint.accounts.verify_email, token, edge.now())
    except InvalidLink:
        if not html:
            raise
        return _invalid_link_page(request)
    if html:
        return page(
            request,
            "message.html",
            title="Email address confirmed",
            text="Thank you: your address is confirmed.",
        )
    return no_store({"status": "email_verified"})


async def resend_page(request: Request) -> Response:
    """The form the page of a spent verification link links to; it posts to ``resend``."""
    return _link_form(request, _RESEND_FORM)


async def resend_verification(request: Request) -> Response:
    """A new verification link, for an account whose address is not verified yet: answered
    as a reset request is, by the same rules (``_request_link``)."""
    accounts = needs(request, AccountEndpoints).accounts
    return await _request_link(request, _RESEND_FORM, accounts.resend_verification)


# -- password reset -----------------------------------------------------------------------


@dataclass(frozen=True)
class _LinkForm:
    """A form that asks for a link by mail, and what every request of it is answered."""

    template: str  # the form, shown again for a malformed address
    accepted: dict[str, str]  # the JSON answer
    title: str  # the page's answer
    text: str


_RESET_FORM = _LinkForm(
    "forgot.html",
    RESET_REQUESTED,
    "Check your email",
    "If an account has this email address, a link to choose a new password is on its way to it.",
)
_RESEND_FORM = _LinkForm(
    "resend.html",
    VERIFICATION_REQUESTED,
    "Check your email",
    (
        "If an account has this email address and it is not confirmed yet, a new link to "
        "confirm it is on its way to it."
    ),
)


async def _request_link(
    request: Request, form: _LinkForm, ask: Callable[[str, str | None, int], Job | None]
) -> Response:
    """Always 202 with one body. The request path does the same work for every address
    (parse, count for the throttle); looking the address up and mailing the link run after
    the answer, so neither its outcome nor its latency shows."""
    edge = needs(request, AccountEndpoints).edge
    html = wants_html(request)
    answer_in_html(request, html)
    params = await read_fields(request)
    try:
        email = params.required("email")
        mail_job = await edge.in_thread(ask, email, edge.client_ip(request), edge.now())
    except InvalidRequestError as refused:
        if not html:
            raise
        return _link_form(request, form, 400, refused.description, params.one("email") or "")
    if html:
        answer = page(request, "message.html", 202, title=form.title, text=form.text)
        return _after(answer, mail_job)
    return no_store(form.accepted, 202, after=mail_job)


def _link_form(
    request: Request,
    form: _LinkForm,
    status: int = 200,
    problem: str | None = None,
    email: str = "",
) -> Response:
    return page(request, form.template, status, problem=problem, email=email)


async def request_reset(request: Request) -> Response:
    accounts = needs(request, AccountEndpoints).accounts
    return await _request_link(request, _RESET_FORM, accounts.request_reset)


async def forgot_page(request: Request) -> Response:
    """The forgotten-password form the login page links to; it posts to ``request_reset``."""
    return _link_form(request, _RESET_FORM)


async def reset_page(request: Request) -> Response:
    """The reset link opens this form; it posts to ``/accounts/password/reset/confirm``."""
    endpoint = needs(request, AccountEndpoints)
    token = await _usable_link(request, endpoint, PASSWORD_RESET)
    if token is None:
        return _invalid_link_page(request)
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
    except InvalidLink:
        if not html:
            raise
        return _invalid_link_page(request)
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
