"""Who may call the admin API: the access token of an admin client, with the authority:admin
scope. No token or a bad one is 401 with a Bearer challenge; a good token without the scope is
403 insufficient_scope naming the scope. Authorisation comes before anything else is read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from authority.admin import manage
from authority.admin.provision import Admin
from authority.storage.sql import SqlStorage
from tests.admin.conftest import Caller, client_token
from tests.admin.document import operations as documented
from tests.conftest import FakeClock, Registered
from tests.http.helpers import assert_no_store, database_unreachable
from tests.http.test_access_line import Lines, access_lines, json_log

__all__ = ["json_log"]  # a fixture of these tests

REALM = 'Bearer realm="authority"'
NEEDS_ADMIN = (
    "the admin API needs an access token of an admin client with the authority:admin scope"
)
FORBIDDEN = (
    f'{REALM}, error="insufficient_scope", error_description="{NEEDS_ADMIN}", '
    'scope="authority:admin"'
)
# Every operation of the document, its path's names filled in.
EVERY = sorted((method, re.sub(r"\{[^/]+\}", "x", path)) for path, method in documented())


INSUFFICIENT = (
    403,
    {"error": "insufficient_scope", "error_description": NEEDS_ADMIN},
    FORBIDDEN,
)


def _invalid(description: str) -> tuple[object, ...]:
    """A 401 as RFC 6750 §3.1 puts it: the body, and the challenge saying the same."""
    challenge = f'{REALM}, error="invalid_token", error_description="{description}"'
    return (401, {"error": "invalid_token", "error_description": description}, challenge)


def _answer(api: Caller, token: str) -> tuple[object, ...]:
    response = api("GET", "/clients", token=token)
    assert_no_store(response)
    return (response.status_code, response.json(), response.headers["www-authenticate"])


@pytest.mark.parametrize(("method", "path"), EVERY)
def test_every_operation_without_a_token_is_401_with_a_bare_bearer_challenge(
    http: TestClient, method: str, path: str
) -> None:
    response = http.request(method, path, json={"name": "x"})

    assert (response.status_code, response.json()) == (401, {"error": "invalid_token"})
    assert response.headers["www-authenticate"] == REALM


@pytest.mark.parametrize(("method", "path"), EVERY)
def test_every_operation_with_a_token_lacking_the_admin_scope_is_403(
    http: TestClient, service_client: Registered, method: str, path: str
) -> None:
    token = client_token(http, service_client, resource="http://localhost:8000")

    response = http.request(
        method, path, json={"name": "x"}, headers={"Authorization": f"Bearer {token}"}
    )

    assert (
        response.status_code,
        response.json(),
        response.headers["www-authenticate"],
    ) == INSUFFICIENT


def test_a_malformed_authorization_header_is_401_invalid_token(http: TestClient) -> None:
    response = http.get("/admin/clients", headers={"Authorization": "Bearer a b"})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith(f'{REALM}, error="invalid_token"')


def test_a_token_that_is_not_ours_is_401(api: Caller) -> None:
    assert _answer(api, "not-a-jwt") == _invalid("the access token is invalid or expired")


def test_an_expired_admin_token_is_401(api: Caller, clock: FakeClock) -> None:
    clock.advance(3600)

    assert _answer(api, api.token) == _invalid("the access token is invalid or expired")


def test_a_revoked_admin_token_is_401(
    api: Caller, http: TestClient, admin_client: Registered
) -> None:
    revoked = http.post("/revoke", data={"token": api.token}, auth=admin_client.basic)
    assert revoked.status_code == 200

    assert _answer(api, api.token) == _invalid("the access token was revoked")


def test_a_token_for_another_audience_is_401(
    api: Caller, http: TestClient, service_client: Registered
) -> None:
    token = client_token(http, service_client)  # aud: its audience, https://api.example

    assert _answer(api, token) == _invalid("the access token is not meant for this server")


@pytest.mark.parametrize("ending", ["disable", "delete"])
def test_the_token_of_an_admin_client_disabled_or_deleted_since_is_401(
    api: Caller, admin: Admin, admin_client: Registered, clock: FakeClock, ending: str
) -> None:
    assert api("GET", "/clients").status_code == 200
    now = int(clock())
    if ending == "disable":
        manage.set_client_disabled(admin, admin_client.client_id, True, now)
    else:
        manage.delete_client(admin, admin_client.client_id, now)

    expected = _invalid("the access token does not belong to an active client")
    assert _answer(api, api.token) == expected


def test_a_user_token_is_403(
    api: Caller, http: TestClient, app_client: Registered, alice: str
) -> None:
    form = {
        "grant_type": "password",
        "username": "alice",
        "password": "correct horse battery",
        "resource": "http://localhost:8000",
    }
    login = http.post("/token", data=form, auth=app_client.basic)
    assert login.status_code == 200, login.text

    assert _answer(api, login.json()["access_token"]) == INSUFFICIENT


def test_authorisation_comes_before_the_body_and_the_path_are_read(http: TestClient) -> None:
    bad_body = http.post(
        "/admin/clients", content=b"{", headers={"Content-Type": "application/json"}
    )
    unknown = http.get("/admin/users/nobody")

    assert (bad_body.status_code, unknown.status_code) == (401, 401)


def test_a_database_that_cannot_be_reached_is_503_not_500(
    api: Caller, storage: SqlStorage, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with database_unreachable(storage, monkeypatch, tmp_path):
        response = api("GET", "/clients")

    assert (response.status_code, response.json()["error"]) == (503, "temporarily_unavailable")
    assert response.headers["retry-after"] == "1"


def test_the_access_line_names_the_admin_client_and_the_whole_route(
    api: Caller, admin_client: Registered, json_log: Lines
) -> None:
    headers = {"X-Request-ID": "ops-read-1"}
    assert api("GET", "/users/nobody/sessions", headers=headers).status_code == 404

    [line] = [line for line in access_lines(json_log()) if line["request_id"] == "ops-read-1"]
    assert line["route"] == "/admin/users/{username}/sessions"
    assert (line["status"], line["client_id"]) == (404, admin_client.client_id)
