"""A user's own consents over HTTP: GET /consents, DELETE /consents/{client_id}."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.runtime import Authority
from authority.storage import Consent
from tests.conftest import Registered
from tests.http.browser_helpers import app_session
from tests.http.helpers import assert_no_store
from tests.http.test_sessions import assert_bearer_error, bearer

NO_CONSENT = {"error": "not_found", "error_description": "no consent for this client"}
CHALLENGE = 'Bearer realm="authority", error="invalid_token"'


@pytest.fixture
def third_party(admin: Admin) -> str:
    client, _ = admin.create_client(
        "Photo Printer", ["password", "refresh_token"], ["read"], None, []
    )
    return client.client_id


def token_of(authority: Authority, client: Registered, sub: str) -> str:
    """An access token for the authority itself (aud = issuer)."""
    return app_session(authority, client.client_id, sub, None).access_token


def test_without_a_valid_token_nothing_is_listed_or_withdrawn(
    http: TestClient, authority: Authority, alice: str, third_party: str
) -> None:
    authority.storage.grant_consent(Consent(alice, third_party, ("read",), 100))

    missing = http.get("/consents")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="authority"'
    assert_bearer_error(http.get("/consents", headers=bearer("garbage")), CHALLENGE)
    assert_bearer_error(
        http.delete(f"/consents/{third_party}", headers=bearer("garbage")), CHALLENGE
    )
    assert authority.storage.get_consent(alice, third_party) is not None


@pytest.mark.parametrize("client_id", ["never-consented", "%00", "a" * 65, "tab%09id"])
def test_withdrawing_a_consent_never_given_is_not_found(
    http: TestClient, authority: Authority, app_client: Registered, alice: str, client_id: str
) -> None:
    response = http.delete(
        f"/consents/{client_id}", headers=bearer(token_of(authority, app_client, alice))
    )

    assert (response.status_code, response.json()) == (404, NO_CONSENT)
    assert_no_store(response)


def test_a_user_cannot_withdraw_another_users_consent(
    http: TestClient,
    authority: Authority,
    app_client: Registered,
    alice: str,
    admin: Admin,
    third_party: str,
) -> None:
    bob = admin.create_user("bob", "another long password", None).sub
    authority.storage.grant_consent(Consent(alice, third_party, ("read",), 100))

    response = http.delete(
        f"/consents/{third_party}", headers=bearer(token_of(authority, app_client, bob))
    )

    assert (response.status_code, response.json()) == (404, NO_CONSENT)
    assert authority.storage.get_consent(alice, third_party) is not None


def test_a_user_lists_the_consents_they_gave_newest_first(
    http: TestClient,
    authority: Authority,
    app_client: Registered,
    alice: str,
    admin: Admin,
    third_party: str,
) -> None:
    bob = admin.create_user("bob", "another long password", None).sub
    authority.storage.grant_consent(Consent(alice, third_party, ("openid", "read"), 100))
    authority.storage.grant_consent(Consent(alice, app_client.client_id, ("read",), 200))
    authority.storage.grant_consent(Consent(bob, third_party, ("read",), 300))

    response = http.get("/consents", headers=bearer(token_of(authority, app_client, alice)))

    assert response.status_code == 200
    assert_no_store(response)
    assert response.json() == {
        "consents": [
            {
                "client_id": app_client.client_id,
                "client_name": "app",
                "scope": "read",
                "granted_at": 200,
            },
            {
                "client_id": third_party,
                "client_name": "Photo Printer",
                "scope": "openid read",
                "granted_at": 100,
            },
        ]
    }


def test_a_withdrawn_consent_is_gone_and_the_others_stay(
    http: TestClient,
    authority: Authority,
    app_client: Registered,
    alice: str,
    third_party: str,
) -> None:
    authority.storage.grant_consent(Consent(alice, third_party, ("read",), 100))
    authority.storage.grant_consent(Consent(alice, app_client.client_id, ("read",), 200))
    token = token_of(authority, app_client, alice)

    response = http.delete(f"/consents/{third_party}", headers=bearer(token))

    assert response.status_code == 204
    assert_no_store(response)
    assert authority.storage.get_consent(alice, third_party) is None
    listed = http.get("/consents", headers=bearer(token)).json()["consents"]
    assert [c["client_id"] for c in listed] == [app_client.client_id]
    again = http.delete(f"/consents/{third_party}", headers=bearer(token))
    assert (again.status_code, again.json()) == (404, NO_CONSENT)
