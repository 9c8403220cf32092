"""The authorization endpoint over HTTP (RFC 6749 §3.1, OIDC Core §3.1.2.1): GET or POST,
the hosted login and consent pages it shows, and the browser's cookie. The flow itself is
``authority.oauth.authorize``.

CSRF: the login and consent forms carry a token bound to the browser's cookie
(``BrowserSignIns.csrf_token``); a post without the right one is refused before anything in
it is looked at. A plain authorization request may be posted too (OIDC Core §3.1.2.1): it
acts on nothing by itself, as a GET does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authority.accounts.browser import BrowserSignIns
from authority.credentials.login import UNVERIFIED_EMAIL, LoginRefused, PasswordLogin
from authority.errors import InvalidRequestError
from authority.oauth.authorize import (
    AuthorizationRequest,
    AuthorizationResponse,
    Authorizer,
    Page,
    Redirected,
)
from authority.oauth.params import Params
from authority.storage import BrowserSession
from authority.web.browser import browser_cookie, read_cookie, set_cookie
from authority.web.edge import Edge, needs
from authority.web.requests import FORM, parse_form, read_form
from authority.web.responses import NO_STORE, answer_in_html, page

FORGED = "this form has expired or was not sent from this site: go back to the app and try again"
MISSING_CREDENTIALS = "enter your username and password"
# The scopes people meet most, in words; any other is named in a general sentence.
SCOPE_WORDS = {
    "openid": "confirm who you are (your account's identifier)",
    "profile": "see your username",
    "email": "see your email address",
    "offline_access": "stay signed in while you are away",
}


@dataclass(frozen=True)
class AuthorizeEndpoint:
    edge: Edge
    authorizer: Authorizer
    browser: BrowserSignIns
    login: PasswordLogin
    password_threads: anyio.CapacityLimiter  # the password grant's: one argon2 run per core
    issuer: str
    registration_open: bool  # AUTHORITY_REGISTRATION=open: the login page links to it
    # Mail is delivered (not only logged): the page links to the reset, and to a new
    # verification link when that is what refused the sign-in.
    password_reset: bool


async def authorize(request: Request) -> Response:
    endpoint = needs(request, AuthorizeEndpoint)
    edge, browser = endpoint.edge, endpoint.browser
    answer_in_html(request)  # the browser is here: every error before the client's is a page
    if request.method == "POST":
        params = await read_form(request)
    else:
        params = parse_form(FORM, request.scope["query_string"])
    cookie = read_cookie(request, endpoint.issuer)
    action = _action(params)
    if action is not None and not browser.csrf_ok(cookie, _csrf(params)):
        raise InvalidRequestError(FORGED)
    now = edge.now()
    try:
        # One trip to a thread for the whole of a plain request (single sign-on's hot path).
        auth, session, step = await edge.in_thread(
            _look_up, endpoint, params, cookie, now, action is None
        )
        if action == "login":
            return await _sign_in(request, endpoint, params, auth, session, now)
        if action == "consent" and session is not None:
            return await _decide(request, endpoint, params, auth, session, now)
        if step is None:
            step = await edge.in_thread(endpoint.authorizer.next_step, auth, session, now)
        return _show(request, endpoint, auth, step, cookie)
    except Redirected as refused:
        return _back(request, refused.response)


def _look_up(
    endpoint: AuthorizeEndpoint, params: Params, cookie: str | None, now: int, decide: bool
) -> tuple[AuthorizationRequest, BrowserSession | None, Page | AuthorizationResponse | None]:
    """The request, the browser's sign-in, and (``decide``) what comes next. Blocking."""
    auth = endpoint.authorizer.parse(params)
    session = endpoint.browser.find(cookie, now) if cookie else None
    step = endpoint.authorizer.next_step(auth, session, now) if decide else None
    return auth, session, step


def _action(params: Params) -> str | None:
    """Which form of ours was posted: the login form, the consent form, or none."""
    if "consent" in params:
        return "consent"
    if "username" in params or "password" in params or "csrf_token" in params:
        return "login"
    return None


def _csrf(params: Params) -> str | None:
    values = params.all("csrf_token")
    return values[0] if len(values) == 1 else None


async def _sign_in(
    request: Request,
    endpoint: AuthorizeEndpoint,
    params: Params,
    auth: AuthorizationRequest,
    previous: BrowserSession | None,
    now: int,
) -> Response:
    """The login form was posted: the password grant's rules, then what comes next."""
    edge, browser = endpoint.edge, endpoint.browser
    username = params.all("username")[0] if len(params.all("username")) == 1 else ""
    passwords = params.all("password")
    cookie = read_cookie(request, endpoint.issuer)
    if not username or len(passwords) != 1:
        return _login_page(request, endpoint, auth, cookie, username, MISSING_CREDENTIALS)
    try:
        user = await edge.in_thread(
            endpoint.login.check,
            username,
            passwords[0],
            edge.client_ip(request),
            now,
            "login page",
            auth.client.client_id,
            limiter=endpoint.password_threads,
        )
    except LoginRefused as refused:
        return _login_page(request, endpoint, auth, cookie, username, refused.reason)
    if previous is not None:
        # One browser, one sign-in: signing in again (prompt=login, max_age) ends the last.
        await edge.in_thread(browser.end, previous.session_id, now)
    # A new cookie value at every sign-in: one planted before it is worth nothing after.
    secret, session = await edge.in_thread(browser.start, user, ("pwd",), now)
    step = await edge.in_thread(endpoint.authorizer.next_step, auth, session, now, True)
    response = _show(request, endpoint, auth, step, secret)
    set_cookie(response, endpoint.issuer, secret, browser.max_age)
    return response


async def _decide(
    request: Request,
    endpoint: AuthorizeEndpoint,
    params: Params,
    auth: AuthorizationRequest,
    session: BrowserSession,
    now: int,
) -> Response:
    """The consent form was posted: allow gives the code, deny ``access_denied``."""
    choice = params.all("consent")
    if choice == ["allow"]:
        answer = await endpoint.edge.in_thread(endpoint.authorizer.approve, auth, session, now)
    elif choice == ["deny"]:
        answer = endpoint.authorizer.deny(auth)
    else:
        raise InvalidRequestError("consent must be allow or deny")
    return _back(request, answer)


def _show(
    request: Request,
    endpoint: AuthorizeEndpoint,
    auth: AuthorizationRequest,
    step: Page | AuthorizationResponse,
    cookie: str | None,
) -> Response:
    if step is Page.LOGIN:
        hint = auth.login_hint or ""
        return _login_page(request, endpoint, auth, cookie, hint, None)
    if step is Page.CONSENT:
        assert cookie is not None  # a session's: the consent page follows a sign-in
        return page(
            request,
            "consent.html",
            form_targets=(auth.form_target,),
            action=str(request.app.url_path_for("authorize")),
            client_name=auth.client.name,
            scopes=[SCOPE_WORDS.get(s) for s in auth.scope if s in SCOPE_WORDS],
            other_scopes=[s for s in auth.scope if s not in SCOPE_WORDS],
            fields=auth.fields,
            csrf_token=endpoint.browser.csrf_token(cookie),
        )
    assert isinstance(step, AuthorizationResponse)
    return _back(request, step)


def _login_page(
    request: Request,
    endpoint: AuthorizeEndpoint,
    auth: AuthorizationRequest,
    cookie: str | None,
    username: str,
    problem: str | None,
) -> Response:
    """The login form, bound to this browser's cookie (a new anonymous one if it had none)."""
    value, is_new = (cookie, False) if cookie else browser_cookie(request, endpoint.issuer)
    response = page(
        request,
        "login.html",
        400 if problem else 200,
        form_targets=(auth.form_target,),
        action=str(request.app.url_path_for("authorize")),
        client_name=auth.client.name,
        fields=auth.fields,
        csrf_token=endpoint.browser.csrf_token(value),
        username=username,
        problem=problem,
        register_url="/accounts/register" if endpoint.registration_open else None,
        reset_url="/accounts/password/forgot" if endpoint.password_reset else None,
        # Told after the right password only: where to ask for a new verification link.
        verify_url=(
            "/accounts/verify-email/resend"
            if problem == UNVERIFIED_EMAIL and endpoint.password_reset
            else None
        ),
    )
    if is_new:
        set_cookie(response, endpoint.issuer, value)
    return response


def _back(request: Request, answer: AuthorizationResponse) -> Response:
    """To the client: a 302 (RFC 6749 §4.1.2), or with form_post a page whose form the
    person sends on (no script may send it for them: the pages run none)."""
    if answer.form_post:
        return page(
            request,
            "form_post.html",
            form_targets=(answer.form_target,),
            title="Continue to the app",
            redirect_uri=answer.redirect_uri,
            fields=answer.fields,
        )
    # The code must not be cached, nor our URL sent on as a Referer.
    return RedirectResponse(
        answer.location(), 302, headers={**NO_STORE, "Referrer-Policy": "no-referrer"}
    )
