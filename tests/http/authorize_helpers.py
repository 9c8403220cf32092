"""What the /authorize tests share: a browser sign-in client, a request, the login form."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from html import escape, unescape
from urllib.parse import parse_qsl, urlsplit

import httpx2
from starlette.testclient import TestClient

from authority.credentials.hashing import new_id
from authority.storage import Client
from authority.storage.sql import SqlStorage

REDIRECT_URI = "https://app.example/cb"
# RFC 7636 Appendix B: this verifier's S256 challenge.
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
PASSWORD = "correct horse battery"
BAD_LOGIN = "invalid username or password"


def add_web_client(
    storage: SqlStorage,
    *,
    name: str = "Web app",
    redirect_uris: tuple[str, ...] = (REDIRECT_URI,),
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token"),
    scopes: tuple[str, ...] = ("openid", "profile", "email", "read"),
    audiences: tuple[str, ...] = ("https://api.example",),
    consent: bool = False,
    public: bool = False,
) -> Client:
    """A client that signs people in through /authorize."""
    client = Client(
        client_id=new_id(),
        name=name,
        secret_hash="",
        grant_types=grant_types,
        scopes=scopes,
        default_scopes=("openid",),
        audiences=audiences,
        disabled=False,
        created_at=int(time.time()),
        redirect_uris=redirect_uris,
        public=public,
        consent=consent,
    )
    storage.add_client(client)
    return client


def request_params(client: Client, **changes: str | None) -> dict[str, str]:
    """An authorization request that is good as it is; ``changes`` replace (None: drop)."""
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid read",
        "state": "xyz-state",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "nonce": "n-0S6_WzA2Mj",
    }
    params.update(changes)
    return {k: v for k, v in params.items() if v is not None}


def authorize(
    http: TestClient, params: Mapping[str, str] | Sequence[tuple[str, str]]
) -> httpx2.Response:
    """GET /authorize; a sequence of pairs may repeat a parameter."""
    pairs = params.items() if isinstance(params, Mapping) else params
    query: list[tuple[str, str | int | float | bool | None]] = list(pairs)
    return http.get("/authorize", params=query, follow_redirects=False)


def post_authorize(http: TestClient, data: Mapping[str, str]) -> httpx2.Response:
    return http.post("/authorize", data=data, follow_redirects=False)


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of the page's form, as a browser would post them."""
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    return {unescape(name): unescape(value) for name, value in found}


def log_in(
    http: TestClient,
    params: Mapping[str, str],
    username: str = "alice",
    password: str = PASSWORD,
) -> httpx2.Response:
    """Open the login page for ``params`` and post its form."""
    shown = authorize(http, params)
    assert shown.status_code == 200, shown.text
    form = {**hidden_fields(shown.text), "username": username, "password": password}
    return post_authorize(http, form)


def redirect_query(response: httpx2.Response, to: str = REDIRECT_URI) -> dict[str, str]:
    """The answer a 302 carries back to the client at ``to``."""
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == to
    return dict(parse_qsl(parts.query))


def assert_page_headers(response: httpx2.Response) -> None:
    """The protective headers of every hosted page."""
    headers = response.headers
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src" not in headers["content-security-policy"]  # default-src 'none'
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"


def assert_error_page(response: httpx2.Response, text: str) -> None:
    """A 400 page saying ``text``, and no redirect anywhere."""
    assert response.status_code == 400, response.text
    assert "location" not in response.headers
    assert_page_headers(response)
    assert f'<p class="error" role="alert">{escape(text)}</p>' in response.text
