"""What the cookie-mode tests share: a single-page app whose refresh token lives in the
``__Host-authority_rt`` cookie, requests as its pages send them, and the Set-Cookie checks.

httpx never sends a Secure cookie to http://localhost (browsers do), so a request names the
cookie in its own ``Cookie`` header, which also keeps the client's cookie jar out of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx2
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from tests.conftest import ISSUER, Registered
from tests.http.helpers import Form

SPA_ORIGIN = "http://localhost:5173"
COOKIE = "__Host-authority_rt"
CSRF = "X-Authority-CSRF"
PASSWORD = "correct horse battery"
REFRESH_TTL = 30 * 24 * 3600  # AUTHORITY_REFRESH_TOKEN_TTL's default
DEAD = "refresh token is invalid, expired or revoked"
REUSED = "refresh token was already used; its session is revoked"
NO_CSRF = "a request authenticated by the refresh cookie must carry the header X-Authority-CSRF: 1"
NO_ORIGIN = "a request authenticated by the refresh cookie must carry an Origin header"
FOREIGN_ORIGIN = (
    "the request's Origin is not one of this client's allowed origins "
    "(authority clients update CLIENT_ID --allowed-origin ORIGIN)"
)


def cookie_client(
    admin: Admin,
    name: str = "spa",
    origins: tuple[str, ...] = (SPA_ORIGIN,),
    *,
    public: bool = True,
) -> Registered:
    """A first-party single-page app in cookie mode: password + refresh_token; its access
    tokens may call the authority itself (/sessions, /userinfo)."""
    client, secret = admin.create_client(
        name,
        ["password", "refresh_token"],
        ["openid", "read"],
        ["read"],
        [ISSUER],
        public=public,
        refresh_cookie=True,
        allowed_origins=list(origins),
    )
    return Registered(client.client_id, secret)


def page_headers(
    cookie: str | None = None,
    *,
    origin: str | None = SPA_ORIGIN,
    csrf: str | None = "1",
    name: str = COOKIE,
    extra_cookies: str = "",
) -> dict[str, str]:
    """The headers of a ``fetch(..., {credentials: "include"})`` from the app's page."""
    headers = {}
    if origin is not None:
        headers["Origin"] = origin
    if csrf is not None:
        headers[CSRF] = csrf
    cookies = [c for c in (extra_cookies, f"{name}={cookie}" if cookie is not None else "") if c]
    if cookies:
        headers["Cookie"] = "; ".join(cookies)
    return headers


def client_form(
    client: Registered, data: Form
) -> tuple[dict[str, str | list[str]], tuple[str, str] | None]:
    """The form and Basic credentials: a public client names itself in the form."""
    form: dict[str, str | list[str]] = {
        k: v if isinstance(v, str) else list(v) for k, v in data.items()
    }
    if client.secret:
        return form, client.basic
    return {**form, "client_id": client.client_id}, None


def token_request(
    http: TestClient, client: Registered, data: Form, headers: Mapping[str, str]
) -> httpx2.Response:
    form, auth = client_form(client, data)
    return http.post(
        "/token", data=form, headers=dict(headers), auth=auth or httpx2.USE_CLIENT_DEFAULT
    )


def password_login(http: TestClient, client: Registered, **headers: str) -> httpx2.Response:
    data = {"grant_type": "password", "username": "alice", "password": PASSWORD}
    return token_request(http, client, data, {**page_headers(), **headers})


def cookie_refresh(
    http: TestClient, client: Registered, headers: Mapping[str, str], **extra: str
) -> httpx2.Response:
    return token_request(http, client, {"grant_type": "refresh_token", **extra}, headers)


@dataclass(frozen=True)
class SetCookie:
    name: str
    value: str
    attributes: dict[str, str]  # names lower case; "" for a flag


def set_cookies(response: httpx2.Response) -> list[SetCookie]:
    found = []
    for header in response.headers.get_list("set-cookie"):
        first, *rest = header.split("; ")
        name, _, value = first.partition("=")
        attributes = {}
        for attribute in rest:
            key, _, setting = attribute.partition("=")
            attributes[key.lower()] = setting
        found.append(SetCookie(name, value, attributes))
    return found


def cookie_set(
    response: httpx2.Response, *, name: str = COOKIE, path: str = "/", max_age: int = REFRESH_TTL
) -> str:
    """The refresh cookie the response sets, with exactly the cookie-mode attributes; its
    value."""
    [cookie] = set_cookies(response)
    assert cookie.name == name
    assert cookie.value
    assert cookie.attributes == {
        "httponly": "",
        "secure": "",
        "samesite": "strict",
        "path": path,
        "max-age": str(max_age),
    }
    return cookie.value


def assert_cleared(response: httpx2.Response, *, name: str = COOKIE, path: str = "/") -> None:
    """The response makes the browser forget the refresh cookie."""
    [cookie] = [c for c in set_cookies(response) if c.name == name]
    assert cookie.value in ("", '""')
    assert cookie.attributes["max-age"] == "0"
    assert cookie.attributes["path"] == path
    assert {"secure", "httponly"} <= set(cookie.attributes)
    assert cookie.attributes["samesite"] == "strict"


def assert_no_cookie(response: httpx2.Response) -> None:
    assert response.headers.get_list("set-cookie") == []


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def access_works(http: TestClient, token: str) -> bool:
    """Whether an access token still opens /sessions (a revoked family's is denied)."""
    response = http.get("/sessions", headers=bearer(token))
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


def signed_in(http: TestClient, client: Registered) -> tuple[str, str]:
    """A password login from the app's page: the refresh cookie it set, and its access token."""
    response = password_login(http, client)
    assert response.status_code == 200, response.text
    return cookie_set(response), response.json()["access_token"]
