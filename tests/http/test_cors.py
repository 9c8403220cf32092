"""CORS: the endpoints a browser app calls answer the origins some client allows (with
credentials for a cookie-mode client's), nothing for any other; discovery and the JWKS any
origin, never with credentials; the origins are a snapshot read again after its TTL."""

from __future__ import annotations

import httpx2
import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.admin.sign_in import ClientUpdate
from authority.oauth.origins import BrowserOrigins
from authority.runtime import Authority
from tests.conftest import FakeClock, Registered
from tests.http.cookie_helpers import (
    CSRF,
    SPA_ORIGIN,
    bearer,
    cookie_client,
    cookie_set,
    page_headers,
    password_login,
)

PLAIN_ORIGIN = "https://plain.example"
EVIL_ORIGIN = "https://evil.example"
TTL = 5
# Each endpoint a browser app calls, with a method its page uses there.
ENDPOINTS = [
    ("/token", "POST"),
    ("/revoke", "POST"),
    ("/logout", "POST"),
    ("/userinfo", "GET"),
    ("/sessions", "GET"),
    ("/sessions", "DELETE"),
    ("/sessions/some-id", "DELETE"),
]
DOCUMENTS = [
    "/jwks.json",
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
]


@pytest.fixture
def monotonic() -> FakeClock:
    return FakeClock(0.0)


@pytest.fixture
def authority(authority: Authority, monotonic: FakeClock) -> Authority:
    """The origins snapshot on a clock the test moves (built before the app, which keeps it)."""
    authority.origins = BrowserOrigins(authority.storage, TTL, clock=monotonic)
    return authority


@pytest.fixture
def spa(admin: Admin) -> Registered:
    return cookie_client(admin)


@pytest.fixture
def plain(admin: Admin) -> Registered:
    """A public code-flow client that holds its tokens itself: CORS, no credentials."""
    client, _ = admin.create_client(
        "plain",
        ["authorization_code", "refresh_token"],
        ["openid", "read"],
        None,
        [],
        redirect_uris=["https://plain.example/callback"],
        public=True,
        allowed_origins=[PLAIN_ORIGIN],
    )
    return Registered(client.client_id, "")


def preflight(
    http: TestClient, path: str, origin: str, method: str = "POST", headers: str = ""
) -> httpx2.Response:
    asked = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        asked["Access-Control-Request-Headers"] = headers
    return http.options(path, headers=asked)


def vary(response: httpx2.Response) -> set[str]:
    return {v.strip() for value in response.headers.get_list("vary") for v in value.split(",")}


def assert_no_cors(response: httpx2.Response) -> None:
    assert not [h for h in response.headers if h.startswith("access-control-")]


# -- preflight -------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "method"), ENDPOINTS)
def test_a_cookie_mode_origins_preflight_is_answered_with_credentials(
    http: TestClient, spa: Registered, path: str, method: str
) -> None:
    response = preflight(http, path, SPA_ORIGIN, method, f"{CSRF}, content-type")

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SPA_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert {"authorization", "content-type", "x-authority-csrf"} <= allowed
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert {"GET", "POST", "DELETE"} <= methods
    assert "Origin" in vary(response)


@pytest.mark.parametrize(("path", "method"), ENDPOINTS)
def test_another_clients_origins_preflight_is_answered_without_credentials(
    http: TestClient, plain: Registered, path: str, method: str
) -> None:
    response = preflight(http, path, PLAIN_ORIGIN, method, "authorization")

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == PLAIN_ORIGIN
    assert "access-control-allow-credentials" not in response.headers
    assert "Origin" in vary(response)


@pytest.mark.parametrize(("path", "method"), ENDPOINTS)
@pytest.mark.parametrize("origin", [EVIL_ORIGIN, "null", "http://localhost:5174", SPA_ORIGIN + "/"])
def test_a_disallowed_origins_preflight_gets_no_cors_headers(
    http: TestClient, spa: Registered, plain: Registered, path: str, method: str, origin: str
) -> None:
    response = preflight(http, path, origin, method, CSRF)

    assert response.status_code == 405
    assert_no_cors(response)


def test_a_preflight_asking_for_another_header_is_refused(
    http: TestClient, spa: Registered
) -> None:
    response = preflight(http, "/token", SPA_ORIGIN, "POST", "X-Something-Else")

    # Starlette's refusal: the browser then sends no request at all.
    assert (response.status_code, response.text) == (400, "Disallowed CORS headers")


# -- actual requests ---------------------------------------------------------------------------


def test_a_cookie_mode_origins_requests_are_answered_with_credentials(
    http: TestClient, spa: Registered, alice: str
) -> None:
    login = password_login(http, spa)
    cookie, access = cookie_set(login), login.json()["access_token"]
    answers = [
        login,
        http.get("/userinfo", headers={"Origin": SPA_ORIGIN, **bearer(access)}),
        http.get("/sessions", headers=page_headers(cookie)),
        http.post("/revoke", data={"client_id": spa.client_id}, headers=page_headers(cookie)),
        http.post("/logout", headers=page_headers(cookie)),
    ]

    for response in answers:
        assert response.headers["access-control-allow-origin"] == SPA_ORIGIN
        assert response.headers["access-control-allow-credentials"] == "true"
        assert "Origin" in vary(response)
        assert "WWW-Authenticate" in response.headers["access-control-expose-headers"]
    assert [r.status_code for r in answers] == [200, 403, 200, 200, 204]


def test_an_error_is_readable_by_the_allowed_page_too(http: TestClient, spa: Registered) -> None:
    response = http.post("/token", data={"grant_type": "password"}, headers=page_headers())

    assert response.status_code in (400, 401)
    assert response.headers["access-control-allow-origin"] == SPA_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"


def test_another_clients_origins_requests_get_cors_without_credentials(
    http: TestClient, plain: Registered
) -> None:
    response = http.get("/sessions", headers={"Origin": PLAIN_ORIGIN})

    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == PLAIN_ORIGIN
    assert "access-control-allow-credentials" not in response.headers
    assert "Origin" in vary(response)


@pytest.mark.parametrize(("path", "method"), ENDPOINTS)
def test_a_disallowed_origins_requests_get_no_cors_headers_but_vary_on_origin(
    http: TestClient, spa: Registered, path: str, method: str
) -> None:
    response = http.request(method, path, headers={"Origin": EVIL_ORIGIN})

    assert_no_cors(response)
    assert "Origin" in vary(response)
    assert response.status_code < 500


def test_a_request_without_an_origin_gets_no_cors_headers(
    http: TestClient, spa: Registered
) -> None:
    response = http.get("/sessions")

    assert_no_cors(response)
    assert "Origin" in vary(response)


# -- the public documents --------------------------------------------------------------------


@pytest.mark.parametrize("path", DOCUMENTS)
@pytest.mark.parametrize("origin", [SPA_ORIGIN, PLAIN_ORIGIN, EVIL_ORIGIN])
def test_the_public_documents_answer_any_origin_without_credentials(
    http: TestClient, spa: Registered, plain: Registered, path: str, origin: str
) -> None:
    response = http.get(path, headers={"Origin": origin})
    asked = preflight(http, path, origin, "GET")

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    assert asked.status_code == 200
    assert asked.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in asked.headers


def test_other_endpoints_answer_no_origin(http: TestClient, spa: Registered) -> None:
    for path in ("/healthz", "/authorize", "/introspect"):
        response = http.get(path, headers={"Origin": SPA_ORIGIN})
        assert "access-control-allow-origin" not in response.headers, path


# -- the snapshot ------------------------------------------------------------------------------


def test_untold_a_new_origin_is_honoured_once_the_snapshot_is_older_than_its_ttl(
    untold_http: TestClient, admin: Admin, spa: Registered, monotonic: FakeClock
) -> None:
    """Told of the change, a server honours it within a second (test_change_propagation)."""
    http = untold_http
    new = "https://new.example"
    assert preflight(http, "/token", new).status_code == 405

    admin.update_client(spa.client_id, ClientUpdate(add_allowed_origins=(new,)))
    monotonic.advance(TTL - 1)
    assert preflight(http, "/token", new).status_code == 405

    monotonic.advance(1)
    response = preflight(http, "/token", new)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == new
    assert response.headers["access-control-allow-credentials"] == "true"


def test_a_removed_origin_and_a_disabled_clients_are_dropped_after_the_ttl(
    http: TestClient,
    admin: Admin,
    authority: Authority,
    spa: Registered,
    plain: Registered,
    monotonic: FakeClock,
) -> None:
    assert preflight(http, "/token", SPA_ORIGIN).status_code == 200
    assert preflight(http, "/token", PLAIN_ORIGIN).status_code == 200

    admin.update_client(
        spa.client_id,
        ClientUpdate(
            add_allowed_origins=("https://kept.example",), remove_allowed_origins=(SPA_ORIGIN,)
        ),
    )
    assert authority.storage.set_client_disabled(plain.client_id, True, authority.now())
    monotonic.advance(TTL)

    assert_no_cors(preflight(http, "/token", SPA_ORIGIN))
    assert_no_cors(preflight(http, "/token", PLAIN_ORIGIN))
    assert preflight(http, "/token", "https://kept.example").status_code == 200


def test_an_origin_of_a_cookie_mode_and_of_another_client_carries_credentials(
    http: TestClient, admin: Admin, plain: Registered
) -> None:
    cookie_client(admin, "spa", (PLAIN_ORIGIN,))

    response = preflight(http, "/token", PLAIN_ORIGIN)

    assert response.headers["access-control-allow-credentials"] == "true"
