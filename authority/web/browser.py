"""The browser's cookie of the hosted pages: one opaque value, httpOnly, SameSite=Lax.

Before sign-in it is an anonymous random value that the CSRF tokens of the login form are
bound to; signing in replaces it with the browser session's secret. It is Secure (and named
``__Host-``, so no subdomain can set it) whenever the issuer is https.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authority.credentials.hashing import new_secret

COOKIE = "authority_session"
HOST_COOKIE = "__Host-authority_session"


def _secure(issuer: str) -> bool:
    return issuer.startswith("https://")


def cookie_name(issuer: str) -> str:
    return HOST_COOKIE if _secure(issuer) else COOKIE


def read_cookie(request: Request, issuer: str) -> str | None:
    return request.cookies.get(cookie_name(issuer)) or None


def browser_cookie(request: Request, issuer: str) -> tuple[str, bool]:
    """The browser's cookie value, or a new anonymous one; True when it is new (and must be
    set on the response with ``set_cookie``)."""
    found = read_cookie(request, issuer)
    if found:
        return found, False
    return new_secret(), True


def set_cookie(response: Response, issuer: str, value: str, max_age: int | None = None) -> None:
    """``max_age`` None: a cookie for as long as the browser runs (the anonymous one)."""
    response.set_cookie(
        cookie_name(issuer),
        value,
        max_age=max_age,
        path="/",
        secure=_secure(issuer),
        httponly=True,
        samesite="lax",
    )


def clear_cookie(response: Response, issuer: str) -> None:
    response.delete_cookie(
        cookie_name(issuer), path="/", secure=_secure(issuer), httponly=True, samesite="lax"
    )
