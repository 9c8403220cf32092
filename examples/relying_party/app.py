"""A web app that signs its users in with authority: the authorization code flow with PKCE
(OIDC Core §3.1, RFC 7636) through Authlib's Starlette client, and RP-initiated logout.

    RP_ISSUER=http://localhost:8000 RP_CLIENT_ID=... RP_CLIENT_SECRET=... \\
        .venv/bin/python -m examples.relying_party

``RP_ISSUER`` is the authority's issuer exactly as ``AUTHORITY_ISSUER`` says (the answer's
``iss`` and the id_token's are compared with it). ``RP_URL`` (default
``http://127.0.0.1:8002``) is where the browser reaches this app; its ``/callback`` must be
registered as the client's redirect URI and its ``/signed-out`` as the post-logout redirect
URI. Without ``RP_CLIENT_SECRET`` it signs in as a public client (PKCE
alone). ``RP_SESSION_SECRET`` signs the session cookie (a new random one each start by
default, which signs everyone out on a restart); ``RP_SESSION_COOKIE`` names it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from html import escape
from typing import Any

from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

DEFAULT_URL = "http://127.0.0.1:8002"
SCOPE = "openid profile"


def _setting(environ: Mapping[str, str], name: str, example: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise SystemExit(f"relying_party: set {name}, e.g. {name}={example}")
    return value


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'  # no icon, and no request for /favicon.ico
        f"<title>{escape(title)}</title></head><body><main><h1>{escape(title)}</h1>"
        f"{body}</main></body></html>"
    )
    return HTMLResponse(html, status, headers={"Cache-Control": "no-store"})


def create_app(environ: Mapping[str, str] = os.environ) -> Starlette:
    issuer = _setting(environ, "RP_ISSUER", "http://127.0.0.1:8000").rstrip("/")
    client_id = _setting(environ, "RP_CLIENT_ID", "the client_id of clients create")
    secret = environ.get("RP_CLIENT_SECRET", "").strip() or None
    base = environ.get("RP_URL", "").strip().rstrip("/") or DEFAULT_URL
    oauth = OAuth()
    # Authlib's client for the authority: it reads the rest from discovery.
    authority: Any = oauth.register(
        "authority",
        client_id=client_id,
        client_secret=secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": SCOPE,
            "code_challenge_method": "S256",
            # A public client sends its client_id in the body and nothing else.
            "token_endpoint_auth_method": "client_secret_basic" if secret else "none",
        },
    )

    async def home(request: Request) -> Response:
        user = request.session.get("user")
        if not user:
            return _page("Not signed in", '<p><a href="/login">Sign in</a></p>')
        name = escape(str(user.get("preferred_username") or user["sub"]))
        return _page(
            f"Signed in as {user.get('preferred_username') or user['sub']}",
            f'<p>Hello, <strong id="username">{name}</strong> '
            f'(sub <code id="sub">{escape(str(user["sub"]))}</code>).</p>'
            '<form method="post" action="/logout"><button type="submit">Sign out</button></form>',
        )

    async def login(request: Request) -> Response:
        response: Response = await authority.authorize_redirect(request, f"{base}/callback")
        return response

    async def callback(request: Request) -> Response:
        # RFC 9207: the answer must come from the authority this app sent the user to.
        if request.query_params.get("iss") != issuer:
            return _page("Sign-in failed", "<p>The answer names another issuer.</p>", 400)
        try:
            # Checks state, exchanges the code with the PKCE verifier, validates the
            # id_token (signature against the JWKS, iss, aud, exp, nonce).
            token = await authority.authorize_access_token(request)
        except OAuthError as error:
            return _page("Sign-in failed", f"<p>{escape(error.error or 'error')}</p>", 400)
        claims = token["userinfo"]
        request.session["user"] = {
            "sub": claims["sub"],
            "preferred_username": claims.get("preferred_username"),
        }
        request.session["id_token"] = token["id_token"]
        return RedirectResponse("/", 303)

    async def logout(request: Request) -> Response:
        """OIDC RP-Initiated Logout 1.0: the authority ends its session too."""
        id_token = request.session.pop("id_token", None)
        request.session.pop("user", None)
        if id_token is None:
            return RedirectResponse("/", 303)
        response: Response = await authority.logout_redirect(
            request, post_logout_redirect_uri=f"{base}/signed-out", id_token_hint=id_token
        )
        return response

    async def signed_out(request: Request) -> Response:
        try:
            await authority.validate_logout_response(request)  # the state this app sent
        except OAuthError:
            return _page("Sign-out not confirmed", '<p><a href="/">Home</a></p>', 400)
        return _page("Signed out", '<p><a href="/login">Sign in</a> again.</p>')

    session = Middleware(
        SessionMiddleware,
        secret_key=environ.get("RP_SESSION_SECRET", "").strip() or secrets.token_urlsafe(32),
        session_cookie=environ.get("RP_SESSION_COOKIE", "").strip() or "relying_party",
        https_only=base.startswith("https://"),
    )
    return Starlette(
        routes=[
            Route("/", home),
            Route("/login", login),
            Route("/callback", callback),
            Route("/logout", logout, methods=["POST"]),
            Route("/signed-out", signed_out),
        ],
        middleware=[session],
    )
