"""Cookie mode: a browser app's refresh token travels only in an httpOnly cookie.

The cookie is ``HttpOnly; Secure; SameSite=Strict``, lives as long as one refresh token may
rest unused (AUTHORITY_REFRESH_TOKEN_TTL), and is scoped to the issuer's path: the token
endpoint, /revoke, /logout and /sessions all read it, and a cookie scoped to /token alone
would never reach the other three. Under the root path it is named ``__Host-authority_rt``,
which no subdomain can set or shadow; under a path prefix (which ``__Host-`` forbids)
``__Secure-authority_rt``. Browsers accept Secure cookies from http://localhost and
http://127.0.0.1, so development works the same.

CSRF: every request the cookie authenticates must come from one of the client's allowed
origins (``Origin``) and carry ``X-Authority-CSRF: 1``. A cross-site form cannot set that
header, and a script on another origin would need a CORS preflight, which only the allowed
origins pass; SameSite=Strict keeps the cookie from other sites' requests altogether.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from authority.errors import InvalidRequestError
from authority.oauth import origins
from authority.storage import Client

NAME = "authority_rt"
CSRF_HEADER = "X-Authority-CSRF"
# What a refresh token can look like (``tokens.new_refresh_token``, at most the 512 characters
# presented tokens are held to): anything else in the cookie is no token, never looked up.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,512}")
NO_CSRF_HEADER = (
    f"a request authenticated by the refresh cookie must carry the header {CSRF_HEADER}: 1"
)
NO_ORIGIN = "a request authenticated by the refresh cookie must carry an Origin header"
FOREIGN_ORIGIN = (
    "the request's Origin is not one of this client's allowed origins "
    "(authority clients update CLIENT_ID --allowed-origin ORIGIN)"
)


@dataclass(frozen=True)
class RefreshCookies:
    issuer: str  # AUTHORITY_ISSUER: its path is the cookie's
    max_age: int  # AUTHORITY_REFRESH_TOKEN_TTL

    @property
    def path(self) -> str:
        return urlsplit(self.issuer).path.rstrip("/") or "/"

    @property
    def name(self) -> str:
        return f"__Host-{NAME}" if self.path == "/" else f"__Secure-{NAME}"

    def present(self, request: Request) -> bool:
        return self.name in request.cookies

    def read(self, request: Request) -> str | None:
        """The refresh token in the cookie; "" for a cookie that holds no refresh token (a
        tampered or garbage value: no session has it); None when there is no cookie."""
        value = request.cookies.get(self.name)
        if value is None:
            return None
        return value if _TOKEN.fullmatch(value) else ""

    def put(self, response: Response, token: str) -> None:
        """Set the cookie to ``token``, a refresh token (``tokens.new_refresh_token``: URL-safe
        base64, nothing to quote), with the attributes every cookie of ours has."""
        response.headers.append("set-cookie", f"{self.name}={token}{self._attributes}")

    @property
    def _attributes(self) -> str:
        # The attributes in the order and spelling Starlette's set_cookie writes them.
        return f"; HttpOnly; Max-Age={self.max_age}; Path={self.path}; SameSite=strict; Secure"

    def clear(self, response: Response) -> None:
        response.delete_cookie(
            self.name, path=self.path, secure=True, httponly=True, samesite="strict"
        )


def csrf_origin(request: Request) -> str:
    """The ``Origin`` of a request the refresh cookie authenticates (or that sets it), which
    must also carry the CSRF header; refused before anything changes when it does not."""
    if request.headers.get(CSRF_HEADER) != "1":
        raise InvalidRequestError(NO_CSRF_HEADER)
    origin = request.headers.get("origin")
    if origin is None:
        raise InvalidRequestError(NO_ORIGIN)
    return origin


def check_csrf(request: Request, client: Client) -> None:
    """The request comes from a page of ``client``'s (``csrf_origin``, and an allowed origin)."""
    check_origin(client, csrf_origin(request))


def check_origin(client: Client | None, origin: str) -> None:
    """A cookie the request carries belongs to a cookie-mode client that allows ``origin``
    (``client`` None: the cookie's session is gone, or its client deleted)."""
    if client is None or not client.refresh_cookie or not origins.allows(client, origin):
        raise InvalidRequestError(FOREIGN_ORIGIN)
