"""Browser sign-in over real HTTP (OIDC Core §3.1, RFC 7636, RFC 9207, RP-Initiated Logout):
a real ``authority serve``, Authlib's OAuth2Client as the relying party, and a user who
follows the redirects and fills in the hosted forms (tests/e2e/user_agent.py).

One server per backend serves the whole module; each test opens its own browser (cookie
jar), so only the user and the clients are shared.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from authority.verify import Verifier
from tests.e2e.servers import USER_PASSWORD, cli, environment, free_port, serve
from tests.e2e.user_agent import Outcome, User, error_page, forms

pytestmark = pytest.mark.e2e
AUDIENCE = "https://api.example"
WEB_CALLBACK = "https://web.example/callback"
WEB_SIGNED_OUT = "https://web.example/signed-out"
NATIVE_CALLBACK = "com.example.app:/callback"
PARTNER_CALLBACK = "https://partner.example/callback"


@dataclass(frozen=True)
class Party:
    """A registered client, and Authlib's OAuth2Client playing it."""

    client_id: str
    secret: str | None  # None: a public client
    redirect_uri: str
    scope: str

    def oauth(self) -> Any:
        return OAuth2Client(
            self.client_id,
            self.secret,
            token_endpoint_auth_method="client_secret_basic" if self.secret else "none",
            scope=self.scope,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            timeout=10,
        )


@dataclass(frozen=True)
class Stack:
    issuer: str
    env: dict[str, str]
    metadata: dict[str, Any]
    sub: str  # alice's
    web: Party  # confidential, first party; no audience: its tokens are for the authority
    native: Party  # public: PKCE alone, a private-use scheme redirect, tokens for AUDIENCE
    partner: Party  # confidential, third party: asks for consent

    def endpoint(self, name: str) -> str:
        """An endpoint as an app finds it: in discovery."""
        assert name in self.metadata, f"discovery names no {name}"
        return str(self.metadata[name])

    def user(self) -> User:
        """alice at a browser of her own: no cookies yet."""
        return User(self.issuer, "alice", USER_PASSWORD)


@dataclass(frozen=True)
class Attempt:
    """An authorization request as the relying party made it."""

    url: str
    state: str
    nonce: str
    verifier: str


def begin(stack: Stack, rp: Any, **extra: str) -> Attempt:
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = rp.create_authorization_url(
        stack.endpoint("authorization_endpoint"), code_verifier=verifier, nonce=nonce, **extra
    )
    return Attempt(str(url), str(state), nonce, verifier)


def exchange(stack: Stack, rp: Any, attempt: Attempt, outcome: Outcome) -> dict[str, Any]:
    """The code of a successful answer, exchanged with the PKCE verifier."""
    assert outcome.query["state"] == attempt.state
    assert outcome.query["iss"] == stack.issuer  # RFC 9207
    token = rp.fetch_token(
        stack.endpoint("token_endpoint"),
        authorization_response=outcome.location,
        state=attempt.state,
        code_verifier=attempt.verifier,
    )
    return dict(token)


def sign_in(stack: Stack, user: User, rp: Any, **extra: str) -> dict[str, Any]:
    attempt = begin(stack, rp, **extra)
    outcome = user.authorize(attempt.url)
    return exchange(stack, rp, attempt, outcome)


def id_claims(stack: Stack, token: dict[str, Any], audience: str) -> dict[str, Any]:
    """The id_token's claims once its signature, iss, aud, exp and iat check out."""
    keys = KeySet.import_key_set(httpx.get(stack.endpoint("jwks_uri")).json())
    decoded = jwt.decode(token["id_token"], keys, algorithms=["ES256"])
    assert decoded.header["typ"] == "JWT"
    registry = jwt.JWTClaimsRegistry(
        leeway=5,
        iss={"essential": True, "value": stack.issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        iat={"essential": True},
    )
    registry.validate(decoded.claims)
    return dict(decoded.claims)


def half_hash(access_token: str) -> str:
    """OIDC Core §3.1.3.6 at_hash for ES256: the left half of SHA-256, base64url."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def refused(call: Any) -> tuple[str, str | None]:
    """The OAuth error a token-endpoint call of Authlib's client answered with."""
    with pytest.raises(OAuthError) as caught:
        call()
    return caught.value.error, caught.value.description


def introspect(stack: Stack, party: Party, token: str) -> dict[str, Any]:
    assert party.secret is not None
    response = httpx.post(
        stack.endpoint("introspection_endpoint"),
        data={"token": token},
        auth=(party.client_id, party.secret),
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _party(env: dict[str, str], name: str, redirect: str, scope: str, *flags: str) -> Party:
    created = cli(
        env,
        *("clients", "create", name, "--grant", "authorization_code", "--grant", "refresh_token"),
        *("--redirect-uri", redirect, "--scope", scope, *flags),
    )
    return Party(created["client_id"], created.get("client_secret"), redirect, scope)


@pytest.fixture(scope="module")
def stack(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("sign-in")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = environment(module_database_url, folder / "keys", issuer)
    with serve(env, port, log=folder / "serve.log"):
        alice = cli(env, "users", "create", "alice", "--password-stdin", stdin=USER_PASSWORD + "\n")
        web = _party(
            env,
            "web",
            WEB_CALLBACK,
            "openid profile email",
            *("--post-logout-redirect-uri", WEB_SIGNED_OUT),
        )
        native = _party(
            env, "native", NATIVE_CALLBACK, "openid profile", "--public", "--audience", AUDIENCE
        )
        partner = _party(env, "partner", PARTNER_CALLBACK, "openid profile", "--consent")
        metadata = httpx.get(f"{issuer}/.well-known/openid-configuration").json()
        yield Stack(issuer, env, metadata, alice["sub"], web, native, partner)


OAuth = Callable[[Party], Any]


@pytest.fixture
def oauth() -> Iterator[OAuth]:
    """Opens Authlib's client for a party; each is closed when the test ends."""
    with ExitStack() as opened:
        yield lambda party: opened.enter_context(party.oauth())


@pytest.fixture
def user(stack: Stack) -> Iterator[User]:
    user = stack.user()
    yield user
    user.close()


def test_discovery_tells_an_app_how_to_sign_in(stack: Stack) -> None:
    """What Authlib, django-allauth and mozilla-django-oidc read (OIDC Discovery §3)."""
    metadata = stack.metadata
    assert metadata["authorization_endpoint"] == f"{stack.issuer}/authorize"
    assert metadata["end_session_endpoint"] == f"{stack.issuer}/logout"
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert "none" in metadata["token_endpoint_auth_methods_supported"]
    assert "authorization_code" in metadata["grant_types_supported"]


def test_a_confidential_client_signs_alice_in_and_gets_tokens_that_verify(
    stack: Stack, user: User, oauth: OAuth
) -> None:
    rp = oauth(stack.web)
    attempt = begin(stack, rp)
    before = int(time.time())
    outcome = user.authorize(attempt.url)
    assert outcome.pages == ["login"]  # first party: no consent page
    assert outcome.location.startswith(f"{WEB_CALLBACK}?")
    assert set(outcome.query) == {"code", "state", "iss"}

    token = exchange(stack, rp, attempt, outcome)
    assert set(token) >= {"access_token", "token_type", "expires_in", "refresh_token", "id_token"}
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "openid profile email"

    claims = id_claims(stack, token, stack.web.client_id)
    assert claims["exp"] - claims["iat"] == 900
    assert before <= claims["auth_time"] <= claims["iat"] <= int(time.time())
    assert isinstance(claims["sid"], str) and claims["sid"]
    assert claims == {
        "iss": stack.issuer,
        "sub": stack.sub,
        "aud": stack.web.client_id,
        "exp": claims["exp"],
        "iat": claims["iat"],
        "auth_time": claims["auth_time"],
        "nonce": attempt.nonce,
        "sid": claims["sid"],
        "amr": ["pwd"],
        "at_hash": half_hash(token["access_token"]),
        "preferred_username": "alice",
    }  # no email: alice has none

    # Its access token is for the authority itself (no audience registered), as /userinfo
    # needs; it verifies as any resource server would verify one.
    access = Verifier(stack.issuer, stack.issuer).verify(token["access_token"], ["openid"])
    assert (access.sub, access.client_id) == (stack.sub, stack.web.client_id)
    assert access.scopes == {"openid", "profile", "email"}
    assert access.raw["auth_time"] == claims["auth_time"]
    assert access.raw["amr"] == ["pwd"]
    userinfo = rp.get(stack.endpoint("userinfo_endpoint"))
    assert userinfo.json() == {"sub": stack.sub, "preferred_username": "alice"}


def test_a_public_client_signs_in_with_pkce_alone_and_its_refresh_tokens_rotate(
    stack: Stack, user: User, oauth: OAuth
) -> None:
    rp = oauth(stack.native)
    token = sign_in(stack, user, rp)
    assert stack.native.secret is None
    claims = id_claims(stack, token, stack.native.client_id)
    assert (claims["sub"], claims["at_hash"]) == (stack.sub, half_hash(token["access_token"]))

    first = token["refresh_token"]
    second = dict(rp.refresh_token(stack.endpoint("token_endpoint"), refresh_token=first))
    assert second["refresh_token"] != first
    assert second["access_token"] != token["access_token"]
    assert second["scope"] == "openid profile"
    Verifier(stack.issuer, AUDIENCE).verify(second["access_token"])

    refresh = rp.refresh_token
    endpoint = stack.endpoint("token_endpoint")
    third = dict(refresh(endpoint, refresh_token=second["refresh_token"]))

    # The first token again, once its successor was used too, is a replay (not a retry that
    # lost its answer): the whole family is revoked, the newest token with it.
    assert refused(lambda: refresh(endpoint, refresh_token=first)) == (
        "invalid_grant",
        "refresh token was already used; its session is revoked",
    )
    assert refused(lambda: refresh(endpoint, refresh_token=third["refresh_token"]))[0] == (
        "invalid_grant"
    )


def test_a_public_client_cannot_exchange_a_code_with_a_wrong_verifier(
    stack: Stack, user: User, oauth: OAuth
) -> None:
    rp = oauth(stack.native)
    attempt = begin(stack, rp)
    outcome = user.authorize(attempt.url)
    wrong = generate_token(48)
    fetch = rp.fetch_token
    endpoint = stack.endpoint("token_endpoint")
    error = refused(lambda: fetch(endpoint, code=outcome.query["code"], code_verifier=wrong))
    assert error[0] == "invalid_grant"


def test_a_second_client_signs_in_through_the_session_without_a_form(
    stack: Stack, user: User, oauth: OAuth
) -> None:
    web = sign_in(stack, user, oauth(stack.web))
    rp = oauth(stack.native)
    attempt = begin(stack, rp, resource=stack.issuer)
    outcome = user.authorize(attempt.url)
    assert outcome.pages == []  # single sign-on: no login form
    native = exchange(stack, rp, attempt, outcome)

    first = id_claims(stack, web, stack.web.client_id)
    second = id_claims(stack, native, stack.native.client_id)
    assert (second["sub"], second["sid"]) == (first["sub"], first["sid"])
    assert second["auth_time"] == first["auth_time"]  # the one login
    assert second["nonce"] == attempt.nonce

    # The browser session is one of alice's sessions (aud = the issuer: /sessions).
    listed = httpx.get(
        f"{stack.issuer}/sessions",
        headers={"Authorization": f"Bearer {native['access_token']}"},
    )
    assert listed.status_code == 200, listed.text
    browser = [s for s in listed.json()["sessions"] if s["id"] == first["sid"]]
    assert len(browser) == 1 and browser[0]["kind"] == "browser"


def test_consent_denied_sends_access_denied_allowed_is_remembered(
    stack: Stack, user: User, oauth: OAuth
) -> None:
    rp = oauth(stack.partner)
    attempt = begin(stack, rp)
    denied = user.authorize(attempt.url, consent="deny")
    assert denied.pages == ["login", "consent"]
    assert denied.location.startswith(f"{PARTNER_CALLBACK}?")
    assert denied.query == {
        "error": "access_denied",
        "error_description": "the user did not allow this app to sign in",
        "state": attempt.state,
        "iss": stack.issuer,
    }

    # Nothing was remembered: the signed-in user is asked again, and allows.
    attempt = begin(stack, rp)
    allowed = user.authorize(attempt.url, consent="allow")
    assert allowed.pages == ["consent"]
    token = exchange(stack, rp, attempt, allowed)
    assert id_claims(stack, token, stack.partner.client_id)["sub"] == stack.sub

    # Remembered for these scopes, in another browser too; prompt=consent asks anyway.
    attempt = begin(stack, rp)
    again = user.authorize(attempt.url, consent="deny")
    assert again.pages == [] and "code" in again.query
    other = stack.user()
    try:
        assert other.authorize(begin(stack, rp).url, consent="deny").pages == ["login"]
    finally:
        other.close()
    asked = user.authorize(begin(stack, rp, prompt="consent").url, consent="allow")
    assert asked.pages == ["consent"] and "code" in asked.query


def test_prompt_none_without_a_session_answers_login_required_and_with_one_a_code(
    stack: Stack, user: User, oauth: OAuth
) -> None:
    rp = oauth(stack.web)
    attempt = begin(stack, rp, prompt="none")
    anonymous = user.authorize(attempt.url)
    assert anonymous.pages == []
    assert anonymous.location.startswith(f"{WEB_CALLBACK}?")
    assert anonymous.query == {
        "error": "login_required",
        "error_description": "the user must sign in, which prompt=none does not allow",
        "state": attempt.state,
        "iss": stack.issuer,
    }

    sign_in(stack, user, oauth(stack.web))
    attempt = begin(stack, rp, prompt="none")
    silent = user.authorize(attempt.url)
    assert silent.pages == []
    token = exchange(stack, rp, attempt, silent)
    assert id_claims(stack, token, stack.web.client_id)["nonce"] == attempt.nonce


def test_prompt_login_shows_the_login_form_despite_a_session(
    stack: Stack, user: User, oauth: OAuth
) -> None:
    first = sign_in(stack, user, oauth(stack.web))
    time.sleep(1)  # auth_time is in whole seconds
    rp = oauth(stack.web)
    attempt = begin(stack, rp, prompt="login")
    outcome = user.authorize(attempt.url)
    assert outcome.pages == ["login"]
    again = exchange(stack, rp, attempt, outcome)
    before = id_claims(stack, first, stack.web.client_id)
    after = id_claims(stack, again, stack.web.client_id)
    assert after["auth_time"] > before["auth_time"]  # a fresh login, not the session's


def test_a_replayed_code_gets_invalid_grant_and_revokes_what_its_first_use_issued(
    stack: Stack, user: User, oauth: OAuth
) -> None:
    rp = oauth(stack.web)
    attempt = begin(stack, rp)
    outcome = user.authorize(attempt.url)
    token = exchange(stack, rp, attempt, outcome)
    assert introspect(stack, stack.web, token["access_token"])["active"] is True

    replay = oauth(stack.web)
    fetch = replay.fetch_token
    endpoint = stack.endpoint("token_endpoint")
    code = outcome.query["code"]
    error = refused(lambda: fetch(endpoint, code=code, code_verifier=attempt.verifier))
    assert error[0] == "invalid_grant"

    refresh = rp.refresh_token
    assert refused(lambda: refresh(endpoint, refresh_token=token["refresh_token"]))[0] == (
        "invalid_grant"
    )
    assert introspect(stack, stack.web, token["access_token"]) == {"active": False}


def test_logout_redirects_with_state_and_ends_the_session_and_its_refresh_tokens(
    stack: Stack, user: User, oauth: OAuth
) -> None:
    rp = oauth(stack.web)
    token = sign_in(stack, user, rp)
    query = {
        "id_token_hint": token["id_token"],
        "post_logout_redirect_uri": WEB_SIGNED_OUT,
        "state": "bye-123",
    }
    page = user.http.get(f"{stack.endpoint('end_session_endpoint')}?{urlencode(query)}")
    assert page.status_code == 200, page.text
    _, [form] = forms(page.text)
    assert "Sign out" in page.text
    answer = user.submit(page, form)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{WEB_SIGNED_OUT}?state=bye-123"

    attempt = begin(stack, oauth(stack.web), prompt="none")
    assert user.authorize(attempt.url).query["error"] == "login_required"
    refresh = rp.refresh_token
    endpoint = stack.endpoint("token_endpoint")
    assert refused(lambda: refresh(endpoint, refresh_token=token["refresh_token"]))[0] == (
        "invalid_grant"
    )
    assert introspect(stack, stack.web, token["access_token"]) == {"active": False}


def test_logout_to_an_unregistered_uri_never_redirects(
    stack: Stack, user: User, oauth: OAuth
) -> None:
    token = sign_in(stack, user, oauth(stack.web))
    query = {
        "id_token_hint": token["id_token"],
        "post_logout_redirect_uri": "https://evil.example/signed-out",
        "state": "s",
    }
    answer = user.http.get(f"{stack.endpoint('end_session_endpoint')}?{urlencode(query)}")
    assert answer.status_code == 400
    assert "location" not in answer.headers


OPEN_REDIRECTS = {
    "trailing slash": f"{WEB_CALLBACK}/",
    "host in capitals": "https://WEB.example/callback",
    "path in capitals": "https://web.example/Callback",
    "extra query": f"{WEB_CALLBACK}?next=https://evil.example",
    "fragment": f"{WEB_CALLBACK}#x",
    "userinfo": "https://evil.example@web.example/callback",
    "host as userinfo": "https://web.example@evil.example/callback",
    "dot segments": "https://web.example/x/../callback",
    "dot segment": "https://web.example/./callback",
    "another port": "https://web.example:8443/callback",
    "default port written": "https://web.example:443/callback",
    "another host": "https://evil.example/callback",
    "a subdomain of another host": "https://web.example.evil.example/callback",
    "http instead of https": "http://web.example/callback",
}


@pytest.mark.parametrize("redirect_uri", OPEN_REDIRECTS.values(), ids=OPEN_REDIRECTS.keys())
def test_an_unregistered_variant_of_the_redirect_uri_gets_a_400_page_and_no_redirect(
    stack: Stack, user: User, oauth: OAuth, redirect_uri: str
) -> None:
    attempt = begin(stack, oauth(stack.web), redirect_uri=redirect_uri)
    answer = user.http.get(attempt.url)
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert error_page(answer.text) == (
        "Something went wrong",
        f"redirect_uri is not registered for this client: {redirect_uri}",
        0,
    )


def test_an_unknown_client_gets_a_400_page_and_no_redirect(
    stack: Stack, user: User, oauth: OAuth
) -> None:
    rp = oauth(Party("no-such-client", None, WEB_CALLBACK, "openid"))
    answer = user.http.get(begin(stack, rp).url)
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert error_page(answer.text) == (
        "Something went wrong",
        "unknown client: no-such-client",
        0,
    )
