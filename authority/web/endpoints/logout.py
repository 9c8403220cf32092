"""OIDC RP-Initiated Logout 1.0 at /logout (discovery's ``end_session_endpoint``): a page
asks the user to confirm; the confirmed form ends this browser's session and every session
started from it, then sends the browser back to the client or shows that it is signed out.
The rules of the request are ``authority.oauth.logout``.

CSRF: the confirmation form carries a token bound to the browser's cookie; only a POST that
carries it ends anything, so no other site can sign a browser out.

A cookie-mode app logs out here too (``authority.web.refresh_cookie``): a POST with the
``X-Authority-CSRF`` header, or one that carries the refresh cookie and none of this page's
or RP-initiated logout's parameters, ends the cookie's session (its access tokens are denied)
and clears the cookie: 204, no page.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authority.accounts.browser import BrowserSignIns
from authority.accounts.sessions import SessionService
from authority.errors import InvalidRequestError
from authority.oauth.logout import PARAMETERS, LogoutRequest, Logouts
from authority.oauth.origins import BrowserOrigins, Cors
from authority.oauth.params import Params
from authority.web.browser import browser_cookie, clear_cookie, read_cookie, set_cookie
from authority.web.edge import Edge, needs
from authority.web.refresh_cookie import (
    CSRF_HEADER,
    FOREIGN_ORIGIN,
    RefreshCookies,
    check_origin,
    csrf_origin,
)
from authority.web.requests import FORM, parse_form, read_form
from authority.web.responses import NO_STORE, answer_in_html, page

# The confirmation form's submit button: a POST without it is a client's logout request.
CONFIRM = ("confirm", "yes")
BAD_FORM = (
    "the sign-out form has expired or did not come from this site: open the sign-out page again"
)
# What makes a POST a browser's sign-out (this page's form, or RP-initiated logout) rather
# than a cookie-mode app's logout.
PAGE_FIELDS = (*PARAMETERS, "logout_hint", "ui_locales", CONFIRM[0], "csrf_token")


@dataclass(frozen=True)
class LogoutEndpoint:
    edge: Edge
    issuer: str
    logouts: Logouts
    browser: BrowserSignIns
    sessions: SessionService
    cookies: RefreshCookies
    origins: BrowserOrigins


async def _params(request: Request) -> Params:
    if request.method == "GET":
        # A query string is a form's encoding, held to the same rules.
        return parse_form(FORM, request.url.query.encode("latin-1"))
    return await read_form(request)


async def end_session(request: Request) -> Response:
    endpoint = needs(request, LogoutEndpoint)
    if request.method == "POST" and (
        CSRF_HEADER in request.headers or endpoint.cookies.present(request)
    ):
        mime = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if CSRF_HEADER in request.headers or mime != FORM:
            return await _cookie_logout(request, endpoint)
        params = await read_form(request)
        if not any(name in params for name in PAGE_FIELDS):
            return await _cookie_logout(request, endpoint)
    else:
        params = await _params(request)
    answer_in_html(request)
    asked = await endpoint.edge.in_thread(endpoint.logouts.request, params)
    cookie = read_cookie(request, endpoint.issuer)
    if request.method == "POST" and params.one(CONFIRM[0]) == CONFIRM[1]:
        return await _sign_out(request, endpoint, asked, cookie, params.one("csrf_token"))
    if request.method == "POST" and cookie is None:
        # A client's page posting here from its own site: the SameSite=Lax cookie stays
        # behind, and a page setting a new one would replace it. The same request as a GET
        # (a top-level navigation, which carries the cookie) asks instead.
        url = str(request.app.url_path_for("end_session"))
        if asked.fields:
            url += "?" + urlencode(asked.fields)
        return RedirectResponse(url, 303, headers=NO_STORE)
    return _confirmation(request, endpoint, asked)


def _confirmation(request: Request, endpoint: LogoutEndpoint, asked: LogoutRequest) -> Response:
    cookie, new = browser_cookie(request, endpoint.issuer)
    response = page(
        request,
        "logout.html",
        form_targets=asked.form_targets(),
        fields=asked.fields,
        csrf_token=endpoint.browser.csrf_token(cookie),
        confirm=CONFIRM,
        client_name=asked.client.name if asked.client else None,
    )
    if new:
        set_cookie(response, endpoint.issuer, cookie)
    return response


async def _sign_out(
    request: Request,
    endpoint: LogoutEndpoint,
    asked: LogoutRequest,
    cookie: str | None,
    csrf_token: str | None,
) -> Response:
    if not endpoint.browser.csrf_ok(cookie, csrf_token):
        raise InvalidRequestError(BAD_FORM)
    browser, now = endpoint.browser, endpoint.edge.now()
    client_id = asked.client.client_id if asked.client else None
    # Not signed in: nothing to end, and the same answer.
    await endpoint.edge.in_thread(browser.sign_out, cookie, now, client_id)
    after = asked.after()
    if after is not None:
        response: Response = RedirectResponse(
            after, 303, headers={**NO_STORE, "Referrer-Policy": "no-referrer"}
        )
    else:
        response = page(request, "signed_out.html")
    clear_cookie(response, endpoint.issuer)
    return response


async def _cookie_logout(request: Request, endpoint: LogoutEndpoint) -> Response:
    """A cookie-mode app's logout: the cookie's session ends, the cookie is cleared. A cookie
    no session knows has nothing to end, and is cleared for any cookie-mode client's page."""
    origin, cookie = csrf_origin(request), endpoint.cookies.read(request)
    sessions, now = endpoint.sessions, endpoint.edge.now()

    def sign_out() -> None:
        found = sessions.cookie_session(cookie) if cookie else None
        if found is None:
            endpoint.origins.refresh()
            if endpoint.origins.policy(origin) is not Cors.CREDENTIALS:
                raise InvalidRequestError(FOREIGN_ORIGIN)
            return
        check_origin(found.client, origin)
        sessions.end_cookie_session(found, now)

    await endpoint.edge.in_thread(sign_out)
    response = Response(status_code=204, headers=NO_STORE)
    endpoint.cookies.clear(response)
    return response
