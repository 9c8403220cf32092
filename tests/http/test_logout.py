"""OIDC RP-Initiated Logout 1.0 at /logout: the confirmation page, the refusals (always a
page, never a redirect), and what a confirmed logout ends."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import urlencode

import httpx2
import pytest
from starlette.testclient import TestClient

from authority.oauth.tokens import IdTokenMinter
from authority.runtime import Authority
from authority.web.browser import COOKIE
from tests.conftest import ISSUER, FakeClock, Registered
from tests.http.account_helpers import assert_page
from tests.http.browser_helpers import app_session, id_token, id_token_claims, sign_in
from tests.http.helpers import assert_error, post_token

SIGNED_OUT = "https://rp.example/signed-out"
WITH_QUERY = "https://rp.example/bye?from=idp"
NOT_REGISTERED = "post_logout_redirect_uri is not registered for this client"
BAD_HINT = "the id_token_hint is not an ID token issued by this server"


@pytest.fixture
def rp(authority: Authority, app_client: Registered) -> Registered:
    """The app client, with two post-logout redirect URIs registered."""
    client = authority.storage.get_client(app_client.client_id)
    assert client is not None
    assert authority.storage.set_client_settings(
        replace(
            client,
            redirect_uris=("https://rp.example/cb",),
            post_logout_redirect_uris=(SIGNED_OUT, WITH_QUERY),
        )
    )
    return app_client


def csrf_token(page: str) -> str:
    found = re.search(r'<input type="hidden" name="csrf_token" value="([^"]+)">', page)
    assert found is not None, page
    return found.group(1)


def _with_csp(response: httpx2.Response, csp: str) -> httpx2.Response:
    """``response`` with another CSP, for ``assert_page``'s checks of everything else."""
    headers = {**response.headers, "content-security-policy": csp}
    return httpx2.Response(response.status_code, headers=headers, content=response.content)


def confirm(http: TestClient, fields: dict[str, str]) -> httpx2.Response:
    """Open the confirmation page with ``fields``, then press its button."""
    page = http.get("/logout", params=fields).text
    form = {**fields, "csrf_token": csrf_token(page), "confirm": "yes"}
    return http.post("/logout", data=form, follow_redirects=False)


def assert_refused(response: httpx2.Response, description: str) -> None:
    page = assert_page(response, 400)
    assert f'<p class="error" role="alert">{description}</p>' in page
    assert "location" not in response.headers


def refresh_refused(http: TestClient, client: Registered, refresh_token: str) -> None:
    response = post_token(
        http, {"grant_type": "refresh_token", "refresh_token": refresh_token}, client
    )
    assert_error(response, 400, "invalid_grant", "refresh token is invalid, expired or revoked")


def active(http: TestClient, client: Registered, token: str) -> bool:
    response = http.post("/introspect", data={"token": token}, auth=client.basic)
    assert response.status_code == 200
    return bool(response.json()["active"])


# -- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "https://rp.example/signed-out/",
        "https://RP.example/signed-out",
        "https://rp.example/Signed-out",
        "https://rp.example/signed-out?next=https://evil.example",
        "https://rp.example/signed-out#x",
        "https://evil.example@rp.example/signed-out",
        "https://rp.example:8443/signed-out",
        "http://rp.example/signed-out",
        "https://rp.example.evil.example/signed-out",
        "https://evil.example/signed-out",
        "https://rp.example/bye",
        "//evil.example",
        "not a uri",
    ],
)
def test_a_redirect_uri_not_registered_exactly_is_refused_with_a_page(
    http: TestClient, rp: Registered, uri: str
) -> None:
    fields = {"client_id": rp.client_id, "post_logout_redirect_uri": uri, "state": "s"}

    assert_refused(http.get("/logout", params=fields), NOT_REGISTERED)
    assert_refused(http.post("/logout", data=fields, follow_redirects=False), NOT_REGISTERED)


def test_a_redirect_uri_without_a_client_is_refused(http: TestClient, rp: Registered) -> None:
    response = http.get("/logout", params={"post_logout_redirect_uri": SIGNED_OUT})

    assert_refused(
        response, "post_logout_redirect_uri needs a client_id or id_token_hint naming the client"
    )


def test_an_unknown_client_is_refused(http: TestClient, rp: Registered) -> None:
    fields = {"client_id": "nobody", "post_logout_redirect_uri": SIGNED_OUT}

    assert_refused(http.get("/logout", params=fields), "unknown client")


@pytest.mark.parametrize(
    "kind", ["garbage", "other-issuer", "foreign-key", "access-token", "no-sub", "no-aud"]
)
def test_an_id_token_hint_that_is_not_ours_is_refused(
    http: TestClient, authority: Authority, rp: Registered, alice: str, kind: str
) -> None:
    claims = id_token_claims(authority, alice, rp.client_id)
    hints: dict[str, Callable[[], str]] = {
        "garbage": lambda: "not.a.token",
        "other-issuer": lambda: id_token(authority, {**claims, "iss": "https://other.example"}),
        "foreign-key": lambda: id_token(authority, claims, foreign_key=True),
        "access-token": lambda: app_session(authority, rp.client_id, alice, None).access_token,
        "no-sub": lambda: id_token(authority, {k: v for k, v in claims.items() if k != "sub"}),
        "no-aud": lambda: id_token(authority, {k: v for k, v in claims.items() if k != "aud"}),
    }

    assert_refused(http.get("/logout", params={"id_token_hint": hints[kind]()}), BAD_HINT)


def test_a_hint_issued_to_another_client_than_client_id_is_refused(
    http: TestClient, authority: Authority, rp: Registered, alice: str
) -> None:
    hint = id_token(authority, id_token_claims(authority, alice, "another-client"))
    fields = {"id_token_hint": hint, "client_id": rp.client_id}

    assert_refused(
        http.get("/logout", params=fields), "the id_token_hint was not issued to this client_id"
    )


def test_a_repeated_parameter_is_refused(http: TestClient, rp: Registered) -> None:
    query = urlencode([("client_id", rp.client_id), ("client_id", rp.client_id)])

    assert_refused(http.get(f"/logout?{query}"), "parameter client_id must not be repeated")


def test_a_confirmation_without_the_right_csrf_token_ends_nothing(
    http: TestClient, authority: Authority, rp: Registered, alice: str
) -> None:
    browser = sign_in(http, authority, alice)
    app = app_session(authority, rp.client_id, alice, browser.session_id)
    fields = {"client_id": rp.client_id, "post_logout_redirect_uri": SIGNED_OUT}

    for token in (None, "forged", authority.browser.csrf_token("another browser's cookie")):
        form = {**fields, "confirm": "yes", **({"csrf_token": token} if token else {})}
        assert_refused(
            http.post("/logout", data=form, follow_redirects=False),
            "the sign-out form has expired or did not come from this site: "
            "open the sign-out page again",
        )
    assert authority.browser.list(alice, authority.now()) == [browser]
    assert active(http, rp, app.access_token)
    assert active(http, rp, app.refresh_token)


# -- the confirmation page ------------------------------------------------------------------


def test_the_page_asks_to_confirm_with_the_request_in_hidden_fields(
    http: TestClient, authority: Authority, rp: Registered, alice: str
) -> None:
    sign_in(http, authority, alice)
    hint = id_token(authority, id_token_claims(authority, alice, rp.client_id))
    fields = {"id_token_hint": hint, "post_logout_redirect_uri": SIGNED_OUT, "state": "a&b"}

    response = http.get("/logout", params={**fields, "ui_locales": "fr", "logout_hint": "x"})

    csp = response.headers["content-security-policy"]
    assert "; form-action 'self' https://rp.example; " in csp
    page = assert_page(_with_csp(response, csp.replace(" https://rp.example", "")), 200)
    assert '<form method="post" action="logout" accept-charset="utf-8">' in page
    assert f'<input type="hidden" name="id_token_hint" value="{hint}">' in page
    assert f'<input type="hidden" name="post_logout_redirect_uri" value="{SIGNED_OUT}">' in page
    assert '<input type="hidden" name="state" value="a&amp;b">' in page
    assert "ui_locales" not in page and "logout_hint" not in page
    assert '<button type="submit" name="confirm" value="yes" autofocus>Sign out</button>' in page
    assert "app asks to sign you out." in page
    assert csrf_token(page) == authority.browser.csrf_token(http.cookies[COOKIE])
    assert "set-cookie" not in response.headers  # the signed-in cookie is kept as it is


def test_a_browser_without_a_cookie_gets_one_for_the_csrf_token(
    http: TestClient, authority: Authority
) -> None:
    response = http.get("/logout")

    page = assert_page(response, 200)
    assert "asks to sign you out" not in page
    assert csrf_token(page) == authority.browser.csrf_token(response.cookies[COOKIE])
    assert response.headers["content-security-policy"].count("form-action 'self';") == 1


def test_a_post_from_the_clients_site_is_asked_again_as_a_navigation_that_carries_the_cookie(
    http: TestClient, rp: Registered
) -> None:
    fields = {"client_id": rp.client_id, "post_logout_redirect_uri": SIGNED_OUT, "state": "s 1"}

    response = http.post("/logout", data=fields, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/logout?" + urlencode(fields)
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers


def test_a_post_from_a_signed_in_browser_gets_the_page(
    http: TestClient, authority: Authority, rp: Registered, alice: str
) -> None:
    sign_in(http, authority, alice)

    page = assert_page(http.post("/logout", data={"client_id": rp.client_id}), 200)

    assert f'<input type="hidden" name="client_id" value="{rp.client_id}">' in page


# -- signing out ----------------------------------------------------------------------------


def test_logout_ends_the_browser_session_and_every_session_started_from_it(
    http: TestClient, authority: Authority, rp: Registered, alice: str
) -> None:
    other_browser = authority.browser.start(
        authority.storage.get_user(alice),  # type: ignore[arg-type]
        ("pwd",),
        authority.now(),
    )[1]
    unrelated = app_session(authority, rp.client_id, alice, other_browser.session_id)
    browser = sign_in(http, authority, alice)
    apps = [app_session(authority, rp.client_id, alice, browser.session_id) for _ in range(2)]
    hint = id_token(authority, id_token_claims(authority, alice, rp.client_id))

    response = confirm(
        http, {"id_token_hint": hint, "post_logout_redirect_uri": SIGNED_OUT, "state": "x y"}
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"{SIGNED_OUT}?state=x+y"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["set-cookie"].startswith(f'{COOKIE}=""; expires=')
    for app in apps:
        refresh_refused(http, rp, app.refresh_token)
        assert not active(http, rp, app.access_token)
    assert authority.browser.list(alice, authority.now()) == [other_browser]
    assert active(http, rp, unrelated.access_token)
    assert active(http, rp, unrelated.refresh_token)


def test_state_joins_a_registered_query_and_client_id_alone_names_the_client(
    http: TestClient, authority: Authority, rp: Registered, alice: str
) -> None:
    sign_in(http, authority, alice)

    response = confirm(
        http, {"client_id": rp.client_id, "post_logout_redirect_uri": WITH_QUERY, "state": "s"}
    )

    assert response.headers["location"] == f"{WITH_QUERY}&state=s"
    assert authority.browser.list(alice, authority.now()) == []


def test_without_a_redirect_uri_the_browser_is_told_it_is_signed_out(
    http: TestClient, authority: Authority, rp: Registered, alice: str
) -> None:
    browser = sign_in(http, authority, alice)
    app = app_session(authority, rp.client_id, alice, browser.session_id)

    response = confirm(http, {"client_id": rp.client_id, "state": "ignored"})

    page = assert_page(response, 200)
    assert "You are signed out in this browser." in page
    assert response.headers["set-cookie"].startswith(f'{COOKIE}=""; expires=')
    refresh_refused(http, rp, app.refresh_token)
    assert authority.browser.list(alice, authority.now()) == []


def test_an_id_token_as_the_code_grant_issues_it_is_a_hint(
    http: TestClient, authority: Authority, rp: Registered, alice: str
) -> None:
    browser = sign_in(http, authority, alice)
    user, client = authority.storage.get_user(alice), authority.storage.get_client(rp.client_id)
    assert user is not None and client is not None
    settings = authority.settings
    minter = IdTokenMinter(settings.issuer, 300, settings.id_token_alg, authority.keys.current)
    hint = minter.issue(user, client, ("openid",), authority.now(), authority.now(), sid="x")

    response = confirm(http, {"id_token_hint": hint, "post_logout_redirect_uri": SIGNED_OUT})

    assert response.headers["location"] == SIGNED_OUT
    assert browser not in authority.browser.list(alice, authority.now())


def test_an_expired_hint_still_names_the_client(
    http: TestClient, authority: Authority, rp: Registered, alice: str, clock: FakeClock
) -> None:
    sign_in(http, authority, alice)
    hint = id_token(authority, id_token_claims(authority, alice, rp.client_id))
    clock.advance(3600)

    response = confirm(http, {"id_token_hint": hint, "post_logout_redirect_uri": SIGNED_OUT})

    assert response.status_code == 303
    assert response.headers["location"] == SIGNED_OUT
    assert authority.browser.list(alice, authority.now()) == []


def test_a_browser_with_no_session_gets_the_same_answer(
    http: TestClient, authority: Authority, rp: Registered, alice: str
) -> None:
    response = confirm(
        http, {"client_id": rp.client_id, "post_logout_redirect_uri": SIGNED_OUT, "state": "s"}
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"{SIGNED_OUT}?state=s"


def test_discovery_names_the_end_session_endpoint(http: TestClient) -> None:
    metadata = http.get("/.well-known/openid-configuration").json()

    assert metadata["end_session_endpoint"] == f"{ISSUER}/logout"
