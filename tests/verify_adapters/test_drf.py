"""The DRF authentication class and HasScope, in a real Django project (tests/drf_project)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from authority.verify import drf
from authority.verify.verifier import Response
from tests.drf_project import configure
from tests.drf_project import settings as project_settings
from tests.verify_adapters.tokens import (
    JWKS_URI,
    METADATA_URI,
    REFUSED,
    FakeAuthority,
    invalid_token_challenge,
)


@pytest.fixture(scope="module", autouse=True)
def django_project() -> None:
    configure()


@pytest.fixture
def authority() -> FakeAuthority:
    return FakeAuthority()


@pytest.fixture
def client(authority: FakeAuthority) -> Iterator[Client]:
    with override_settings(AUTHORITY={**project_settings.AUTHORITY, "FETCH": authority.fetch}):
        yield Client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def detail(response: Any) -> tuple[str, str]:
    """The DRF error body's message and its code."""
    error = response.data["detail"]
    assert response.json() == {"detail": str(error)}
    return str(error), error.code


def test_without_a_token_answers_401_with_a_bare_challenge(client: Client) -> None:
    response = client.get("/items")
    assert response.status_code == 401
    assert detail(response) == (
        "Authentication credentials were not provided.",
        "not_authenticated",
    )
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_another_scheme_is_left_to_other_authenticators(client: Client) -> None:
    response = client.get("/items", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_without_a_token_an_open_view_answers_as_anonymous(client: Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"authenticated": False}


@pytest.mark.parametrize("name", REFUSED)
def test_refuses_a_bad_token_with_invalid_token(
    client: Client, authority: FakeAuthority, name: str
) -> None:
    token, description = authority.refused_tokens()[name]
    response = client.get("/items", headers=bearer(token))
    assert response.status_code == 401
    assert detail(response) == (description, "invalid_token")
    assert response.headers["WWW-Authenticate"] == invalid_token_challenge(description)


def test_a_bad_token_is_refused_even_on_an_open_view(
    client: Client, authority: FakeAuthority
) -> None:
    token, description = authority.refused_tokens()["expired"]
    response = client.get("/health", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == invalid_token_challenge(description)


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer   ", "bearer", "Bearer a b"])
def test_a_bearer_header_without_one_token_is_refused_before_any_key_lookup(
    client: Client, authority: FakeAuthority, authorization: str
) -> None:
    response = client.get("/items", headers={"Authorization": authorization})
    assert response.status_code == 401
    description = "use Authorization: Bearer with an access token"
    assert detail(response) == (description, "invalid_token")
    assert response.headers["WWW-Authenticate"] == invalid_token_challenge(description)
    assert authority.fetched == []  # nothing to verify: no reason to fetch keys


def test_a_read_token_cannot_post_403_insufficient_scope(
    client: Client, authority: FakeAuthority
) -> None:
    response = client.post("/items", headers=bearer(authority.token("read")))
    assert response.status_code == 403
    assert detail(response) == ("the token lacks the scope: write", "insufficient_scope")
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="the token lacks the scope: write", scope="write"'
    )


def test_a_method_the_view_names_no_scope_for_is_refused(
    client: Client, authority: FakeAuthority
) -> None:
    response = client.delete("/items", headers=bearer(authority.token("read write")))
    assert response.status_code == 403
    assert detail(response)[1] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_a_good_token_makes_request_user_its_subject(
    client: Client, authority: FakeAuthority
) -> None:
    response = client.get("/items", headers=bearer(authority.token("read profile")))
    assert response.status_code == 200
    assert response.json() == {
        "sub": "user-42",
        "client_id": "app-7",
        "scopes": ["profile", "read"],
    }
    assert "WWW-Authenticate" not in response.headers

    response = client.post("/items", headers=bearer(authority.token("write")))
    assert response.status_code == 201
    assert response.json()["scopes"] == ["write"]


def test_head_takes_the_scopes_of_get(client: Client, authority: FakeAuthority) -> None:
    assert client.head("/items", headers=bearer(authority.token("read"))).status_code == 200
    assert client.head("/items", headers=bearer(authority.token("write"))).status_code == 403


def test_a_scope_list_applies_to_every_method(client: Client, authority: FakeAuthority) -> None:
    response = client.get("/reports", headers=bearer(authority.token("read")))
    assert response.status_code == 403
    assert detail(response)[0] == "the token lacks the scope: reports"
    assert response.headers["WWW-Authenticate"].endswith('scope="reports"')
    response = client.get("/reports", headers=bearer(authority.token("read reports")))
    assert response.status_code == 200


def test_in_an_or_composition_the_other_permission_still_decides(
    client: Client, authority: FakeAuthority
) -> None:
    # HasScope | ReadOnly: a token without "write" may still read; writing is refused.
    response = client.get("/catalogue", headers=bearer(authority.token("read")))
    assert response.status_code == 200
    assert response.json() == {"authenticated": True}
    assert client.get("/catalogue").json() == {"authenticated": False}
    assert client.post("/catalogue", headers=bearer(authority.token("read"))).status_code == 403
    assert client.post("/catalogue", headers=bearer(authority.token("write"))).status_code == 201
    anonymous = client.post("/catalogue")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_view_without_required_scopes_answers_500_with_a_fixed_body_and_names_it_in_the_log(
    client: Client, authority: FakeAuthority, caplog: pytest.LogCaptureFixture
) -> None:
    drf._reported.clear()
    with caplog.at_level(logging.ERROR, "authority.verify"):
        for headers in (bearer(authority.token()), {}, bearer(authority.token("read write"))):
            response = client.get("/unscoped", headers=headers)
            # Never served unchecked, never a traceback: DRF renders the error.
            assert response.status_code == 500
            assert detail(response) == (
                "this endpoint is misconfigured; the server's log says how",
                "improperly_configured",
            )
    [record] = [r for r in caplog.records if r.name == "authority.verify"]  # once per view
    assert record.getMessage().startswith(
        "tests.drf_project.views.Unscoped uses HasScope but sets no required_scopes"
    )
    assert "permission_classes = [IsAuthenticated]" in record.getMessage()
    # Code that catches ImproperlyConfigured, as for django-oauth-toolkit's TokenHasScope:
    assert issubclass(drf.ScopesNotDeclared, ImproperlyConfigured)


@pytest.mark.parametrize(
    ("published", "reachable", "description", "retry_after"),
    [
        (
            "https://other.example",
            True,
            "the API's issuer setting does not match the authority's metadata",
            None,
        ),
        (project_settings.ISSUER, False, "the authority's metadata cannot be fetched", "10"),
    ],
    ids=["issuer-mismatch", "authority-down"],
)
def test_an_issuer_that_cannot_be_used_answers_503_not_401(
    authority: FakeAuthority,
    published: str,
    reachable: bool,
    description: str,
    retry_after: str | None,
) -> None:
    def fetch(url: str, headers: Mapping[str, str]) -> Response:
        if not reachable:
            raise OSError("connection refused")
        if url == METADATA_URI:
            body = {"issuer": published, "jwks_uri": JWKS_URI}
            return Response(200, json.dumps(body).encode(), {})
        return authority.fetch(url, headers)

    config = {"ISSUER": project_settings.ISSUER, "AUDIENCE": project_settings.AUDIENCE}
    with override_settings(AUTHORITY={**config, "FETCH": fetch}):
        response = Client().get("/items", headers=bearer(authority.token()))
        assert response.status_code == 503
        assert detail(response) == (description, "temporarily_unavailable")
        assert response.headers.get("Retry-After") == retry_after
        assert "WWW-Authenticate" not in response.headers
        assert Client().get("/items").status_code == 401  # no token: still asked for one


def test_one_verifier_serves_every_request_and_fetches_the_jwks_once(
    client: Client, authority: FakeAuthority
) -> None:
    for _ in range(5):
        assert client.get("/items", headers=bearer(authority.token())).status_code == 200
    assert authority.fetched == [JWKS_URI]
    assert drf.get_verifier() is drf.get_verifier()


def test_the_verifier_is_rebuilt_when_the_settings_change(
    client: Client, authority: FakeAuthority
) -> None:
    token = authority.token()
    assert client.get("/items", headers=bearer(token)).status_code == 200
    first = drf.get_verifier()
    changed = {**settings.AUTHORITY, "AUDIENCE": "https://other.example"}
    with override_settings(AUTHORITY=changed):
        response = client.get("/items", headers=bearer(token))
        assert response.status_code == 401
        assert detail(response)[0] == "the token is meant for another audience"
        assert drf.get_verifier() is not first
    assert client.get("/items", headers=bearer(token)).status_code == 200


def test_without_jwks_uri_the_keys_are_found_through_the_issuers_metadata(
    authority: FakeAuthority,
) -> None:
    config = {"ISSUER": "https://auth.example/", "AUDIENCE": "https://api.example"}
    with override_settings(AUTHORITY={**config, "FETCH": authority.fetch}):
        response = Client().get("/items", headers=bearer(authority.token()))
    assert response.status_code == 200
    assert authority.fetched == [METADATA_URI, JWKS_URI]


def test_settings_may_name_fetch_by_dotted_path_and_set_the_verifier_options() -> None:
    config = {
        "ISSUER": "https://auth.example",
        "AUDIENCE": "https://api.example",
        "JWKS_URI": JWKS_URI,
        "ALGORITHMS": ["ES256"],
        "LEEWAY": 5,
        "FETCH": "authority.verify.verifier.urllib_fetch",
    }
    verifier = drf.build_verifier(config)
    assert (verifier.algorithms, verifier.leeway) == (("ES256",), 5)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"AUDIENCE": "https://api.example"}, r"AUTHORITY\['ISSUER'\] must be"),
        ({"ISSUER": "https://auth.example", "AUDIENCE": ""}, r"AUTHORITY\['AUDIENCE'\] must"),
        (
            {"ISSUER": "https://a.example", "AUDIENCE": "https://b.example", "AUDIENCES": []},
            "unknown keys: AUDIENCES",
        ),
        (
            {"ISSUER": "https://a.example", "AUDIENCE": "https://b.example", "ALGORITHMS": []},
            "algorithms must name",
        ),
    ],
)
def test_bad_settings_are_a_configuration_error(config: dict[str, Any], message: str) -> None:
    with override_settings(AUTHORITY=config), pytest.raises(ImproperlyConfigured, match=message):
        drf.get_verifier()


def test_importing_the_verifier_does_not_import_django() -> None:
    code = "import sys, authority.verify; print({'django', 'rest_framework'} & set(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "set()", result.stderr
