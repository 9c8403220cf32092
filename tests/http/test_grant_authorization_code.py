"""The authorization code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636), confidential and
public clients, and the id_token it returns (OIDC Core §3.1.3.6)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from authority.runtime import Authority
from authority.storage import AuthorizationCode, Client, User
from tests.conftest import ISSUER, FakeClock, Registered
from tests.http.helpers import assert_error, assert_no_store, post_token, unverified_claims

API = "https://api.example"
REDIRECT = "https://app.example/cb"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 appendix B
USED = "authorization code was already used; what it issued is revoked"
DEAD = "authorization code is invalid or expired"


def _client(
    authority: Authority, *, public: bool = False, grants: tuple[str, ...] | None = None
) -> Registered:
    secret = "" if public else secrets.token_urlsafe(32)
    client = Client(
        client_id=secrets.token_urlsafe(12),
        name="web app",
        secret_hash="" if public else authority.digest.digest(secret),
        grant_types=grants or ("authorization_code", "refresh_token"),
        scopes=("openid", "profile", "email", "read"),
        default_scopes=("openid",),
        audiences=(API, "https://other.example"),
        disabled=False,
        created_at=int(time.time()),
        redirect_uris=(REDIRECT,),
        public=public,
    )
    authority.storage.add_client(client)
    return Registered(client.client_id, secret)


@pytest.fixture
def web(authority: Authority) -> Registered:
    return _client(authority)


@pytest.fixture
def spa(authority: Authority) -> Registered:
    return _client(authority, public=True)


@dataclass(frozen=True)
class Issued:
    code: str
    record: AuthorizationCode


def issue_code(
    authority: Authority,
    client: Registered,
    sub: str,
    *,
    scope: tuple[str, ...] = ("openid", "profile", "read"),
    browser_session_id: str | None = None,
    ttl: int = 60,
) -> Issued:
    """A code as /authorize stores one (its hash), issued now on the test clock."""
    now = authority.now()
    record = AuthorizationCode(
        code_hash="",
        client_id=client.client_id,
        redirect_uri=REDIRECT,
        code_challenge=CHALLENGE,
        sub=sub,
        scope=scope,
        audience=(API, ISSUER) if "openid" in scope else (API,),
        nonce="n-0S6_WzA2Mj",
        auth_time=now - 30,
        amr=("pwd",),
        browser_session_id=browser_session_id,
        created_at=now,
        expires_at=now + ttl,
    )
    code = authority.code_sealer.seal(record)
    return Issued(code, dataclasses.replace(record, code_hash=authority.digest.digest(code)))


def exchange(
    http: TestClient, client: Registered, code: str, public: bool = False, **extra: str
) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
        **extra,
    }
    if public:
        return post_token(http, {**data, "client_id": client.client_id})
    return post_token(http, data, client)


def _user(authority: Authority, sub: str) -> User:
    user = authority.storage.get_user(sub)
    assert user is not None
    return user


# -- what is refused ----------------------------------------------------------------------------


def test_a_wrong_verifier_is_refused_and_leaves_the_code_to_its_client(
    http: TestClient, authority: Authority, web: Registered, alice: str
) -> None:
    issued = issue_code(authority, web, alice)
    wrong = exchange(http, web, issued.code, code_verifier="x" * 43)
    assert_error(wrong, 400, "invalid_grant", "code_verifier does not match the code_challenge")
    short = exchange(http, web, issued.code, code_verifier="short")
    assert_error(
        short,
        400,
        "invalid_grant",
        "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
    )
    assert exchange(http, web, issued.code).status_code == 200


def test_a_missing_verifier_is_an_invalid_request(
    http: TestClient, authority: Authority, web: Registered, alice: str
) -> None:
    issued = issue_code(authority, web, alice)
    data = {"grant_type": "authorization_code", "code": issued.code, "redirect_uri": REDIRECT}
    missing = post_token(http, data, web)
    assert_error(missing, 400, "invalid_request", "missing parameter: code_verifier")


def test_another_redirect_uri_is_refused(
    http: TestClient, authority: Authority, web: Registered, alice: str
) -> None:
    issued = issue_code(authority, web, alice)
    for uri in (REDIRECT + "/", "https://APP.example/cb", REDIRECT + "?x=1"):
        assert_error(
            exchange(http, web, issued.code, redirect_uri=uri),
            400,
            "invalid_grant",
            "redirect_uri differs from the authorization request's",
        )


def test_an_unknown_expired_or_foreign_code_is_refused(
    http: TestClient, authority: Authority, web: Registered, alice: str, clock: FakeClock
) -> None:
    other = _client(authority)
    issued = issue_code(authority, web, alice)
    foreign = exchange(http, other, issued.code)
    assert_error(foreign, 400, "invalid_grant", "authorization code was issued to another client")
    assert_error(exchange(http, web, "no-such-code"), 400, "invalid_grant", DEAD)
    assert_error(exchange(http, web, "x" * 500), 400, "invalid_grant", DEAD)
    clock.advance(60)
    assert_error(exchange(http, web, issued.code), 400, "invalid_grant", DEAD)


def test_a_changed_or_respelled_code_is_no_code(
    http: TestClient, authority: Authority, web: Registered, alice: str
) -> None:
    issued = issue_code(authority, web, alice)
    flipped = issued.code[:-5] + ("A" if issued.code[-5] != "A" else "B") + issued.code[-4:]
    assert_error(exchange(http, web, flipped), 400, "invalid_grant", DEAD)
    assert exchange(http, web, issued.code).status_code == 200
    # The decoder would skip a stray character: that spelling must not be a second code.
    for respelled in (issued.code + "=", issued.code + ".", "." + issued.code):
        assert_error(exchange(http, web, respelled), 400, "invalid_grant", DEAD)


def test_a_late_replay_of_an_expired_code_still_ends_its_session(
    http: TestClient, authority: Authority, web: Registered, alice: str, clock: FakeClock
) -> None:
    issued = issue_code(authority, web, alice)
    first = exchange(http, web, issued.code).json()
    clock.advance(120)
    assert_error(exchange(http, web, issued.code), 400, "invalid_grant", DEAD)
    introspected = http.post("/introspect", data={"token": first["access_token"]}, auth=web.basic)
    assert introspected.json() == {"active": False}


def test_a_code_of_a_disabled_user_is_refused(
    http: TestClient, authority: Authority, web: Registered, alice: str
) -> None:
    issued = issue_code(authority, web, alice)
    authority.storage.set_user_disabled(alice, True, authority.now())
    assert_error(exchange(http, web, issued.code), 400, "invalid_grant", DEAD)


def test_a_code_from_a_browser_session_that_ended_is_refused(
    http: TestClient, authority: Authority, web: Registered, alice: str
) -> None:
    _, browser = authority.browser.start(_user(authority, alice), ("pwd",), authority.now())
    issued = issue_code(authority, web, alice, browser_session_id=browser.session_id)
    authority.browser.end(browser.session_id, authority.now())
    assert_error(exchange(http, web, issued.code), 400, "invalid_grant", DEAD)


def test_a_client_without_the_grant_is_unauthorized(
    http: TestClient, authority: Authority, alice: str
) -> None:
    client = _client(authority, grants=("password",))
    issued = issue_code(authority, client, alice)
    assert_error(
        exchange(http, client, issued.code),
        400,
        "unauthorized_client",
        "this client may not use the authorization_code grant",
    )


# -- the exchange ---------------------------------------------------------------------------------


def test_the_exchange_returns_tokens_and_an_id_token_bound_to_the_sign_in(
    http: TestClient, authority: Authority, web: Registered, alice: str
) -> None:
    _, browser = authority.browser.start(_user(authority, alice), ("pwd",), authority.now())
    issued = issue_code(authority, web, alice, browser_session_id=browser.session_id)
    response = exchange(http, web, issued.code)
    assert response.status_code == 200, response.text
    assert_no_store(response)
    body = response.json()
    assert set(body) == {
        "access_token",
        "token_type",
        "expires_in",
        "scope",
        "refresh_token",
        "id_token",
    }
    assert body["scope"] == "openid profile read"
    access = unverified_claims(body["access_token"])
    assert access["sub"] == alice and access["client_id"] == web.client_id
    assert access["aud"] == [API, ISSUER]
    assert access["auth_time"] == issued.record.auth_time and access["amr"] == ["pwd"]
    family = authority.storage.get_family(access["sid"])
    assert family is not None and family.browser_session_id == browser.session_id

    id_token = unverified_claims(body["id_token"])
    digest = hashlib.sha256(body["access_token"].encode()).digest()
    at_hash = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert id_token == {
        "iss": ISSUER,
        "sub": alice,
        "aud": web.client_id,
        "exp": id_token["iat"] + authority.settings.access_token_ttl,
        "iat": authority.now(),
        "auth_time": issued.record.auth_time,
        "amr": ["pwd"],
        "nonce": "n-0S6_WzA2Mj",
        "sid": browser.session_id,
        "at_hash": at_hash,
        "preferred_username": "alice",
    }


def test_a_replayed_code_is_refused_and_ends_what_its_first_use_issued(
    http: TestClient, authority: Authority, web: Registered, alice: str
) -> None:
    issued = issue_code(authority, web, alice)
    first = exchange(http, web, issued.code).json()
    replay = exchange(http, web, issued.code)
    assert_error(replay, 400, "invalid_grant", USED)
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    assert_error(
        post_token(http, refresh, web),
        400,
        "invalid_grant",
        "refresh token is invalid, expired or revoked",
    )
    introspected = http.post("/introspect", data={"token": first["access_token"]}, auth=web.basic)
    assert introspected.json() == {"active": False}


def test_a_client_without_refresh_tokens_gets_a_session_of_one_access_token(
    http: TestClient, authority: Authority, alice: str
) -> None:
    client = _client(authority, grants=("authorization_code",))
    issued = issue_code(authority, client, alice, scope=("read",))
    body = exchange(http, client, issued.code).json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    claims = unverified_claims(body["access_token"])
    assert claims["jti"] == claims["sid"]
    # Logging out everywhere ends that session too, and denies its token.
    authority.storage.end_sessions(alice, authority.now())
    introspected = http.post("/introspect", data={"token": body["access_token"]}, auth=client.basic)
    assert introspected.json() == {"active": False}


def test_the_exchange_may_narrow_the_audience(
    http: TestClient, authority: Authority, web: Registered, alice: str
) -> None:
    issued = issue_code(authority, web, alice)
    body = exchange(http, web, issued.code, resource=API).json()
    assert unverified_claims(body["access_token"])["aud"] == API
    again = issue_code(authority, web, alice)
    wider = exchange(http, web, again.code, resource="https://other.example")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_target"


# -- public clients -------------------------------------------------------------------------------


def test_a_public_client_names_itself_and_refreshes_with_rotation(
    http: TestClient, authority: Authority, spa: Registered, alice: str, clock: FakeClock
) -> None:
    issued = issue_code(authority, spa, alice)
    body = exchange(http, spa, issued.code, public=True).json()
    assert "id_token" in body
    data = {
        "grant_type": "refresh_token",
        "refresh_token": body["refresh_token"],
        "client_id": spa.client_id,
    }
    rotated = post_token(http, data)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["refresh_token"] != body["refresh_token"]
    clock.advance(authority.settings.refresh_reuse_window)  # no longer a retry: a reuse
    reused = post_token(http, data)
    assert_error(
        reused, 400, "invalid_grant", "refresh token was already used; its session is revoked"
    )


def test_a_public_client_proves_nothing_so_it_may_not_present_a_secret_or_use_other_grants(
    http: TestClient, authority: Authority, alice: str
) -> None:
    spa = _client(authority, public=True, grants=("authorization_code", "password"))
    issued = issue_code(authority, spa, alice)
    with_secret = exchange(http, spa, issued.code, public=True, client_secret="x")
    assert_error(with_secret, 400, "invalid_client", "client authentication failed")
    password = {"grant_type": "password", "username": "alice", "password": "x"}
    assert_error(
        post_token(http, {**password, "client_id": spa.client_id}),
        400,
        "unauthorized_client",
        "this client may not use the password grant",
    )
    introspect = http.post("/introspect", data={"token": "x", "client_id": spa.client_id})
    assert_error(introspect, 400, "invalid_client", "a public client may not use this endpoint")


def test_a_confidential_client_must_still_authenticate(
    http: TestClient, authority: Authority, web: Registered, alice: str
) -> None:
    issued = issue_code(authority, web, alice)
    unauthenticated = exchange(http, web, issued.code, public=True)
    assert_error(unauthenticated, 400, "invalid_client", "client authentication is required")
    assert exchange(http, web, issued.code).status_code == 200
