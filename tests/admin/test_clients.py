"""/admin/clients: each operation of `authority clients` over HTTP, and what it refuses."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.admin.conftest import Caller, client_token
from tests.conftest import ISSUER, Registered

API = "https://api.example"
SERVICE = {
    "name": "billing",
    "grant_types": ["client_credentials"],
    "scopes": ["read", "write"],
    "default_scopes": ["read"],
    "audiences": [API],
}


def _created(api: Caller, **changes: Any) -> dict[str, Any]:
    """A client made through the API: SERVICE with ``changes`` (None: the member left out)."""
    body = {k: v for k, v in {**SERVICE, **changes}.items() if v is not None}
    return api.ok("POST", "/clients", body, status=201)


def _token_status(http: TestClient, client_id: str, secret: str, **form: str) -> int:
    response = http.post(
        "/token", data={"grant_type": "client_credentials", **form}, auth=(client_id, secret)
    )
    return response.status_code


def _error(api: Caller, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
    response = api(method, path, body, **kw)
    return response.status_code, response.json()


def test_create_answers_the_client_and_its_secret_once_and_the_secret_works(
    api: Caller, http: TestClient
) -> None:
    created = _created(api)

    assert created["client_secret"]
    assert (created["name"], created["scopes"], created["default_scopes"]) == (
        "billing",
        ["read", "write"],
        ["read"],
    )
    assert _token_status(http, created["client_id"], created["client_secret"]) == 200
    shown = api.ok("GET", f"/clients/{created['client_id']}")
    assert "client_secret" not in shown
    assert shown == {k: v for k, v in created.items() if k != "client_secret"}


def test_a_public_client_is_created_without_a_secret(api: Caller) -> None:
    created = _created(
        api,
        name="spa",
        grant_types=["authorization_code", "refresh_token"],
        scopes=["openid"],
        default_scopes=None,
        audiences=[],
        redirect_uris=["https://app.example/callback"],
        public=True,
    )

    assert "client_secret" not in created
    assert created["token_endpoint_auth_method"] == "none"


def test_list_gives_every_client(api: Caller, admin_client: Registered) -> None:
    created = _created(api)

    listed = api.ok("GET", "/clients")["clients"]

    assert {c["client_id"] for c in listed} == {admin_client.client_id, created["client_id"]}


def test_update_changes_what_it_names_and_keeps_the_rest(api: Caller, http: TestClient) -> None:
    created = _created(api)
    path = f"/clients/{created['client_id']}"
    assert _token_status(http, created["client_id"], created["client_secret"], scope="audit") == 400

    updated = api.ok("PATCH", path, {"name": "billing-2", "scopes": ["read", "write", "audit"]})

    assert (updated["name"], updated["scopes"]) == ("billing-2", ["read", "write", "audit"])
    assert updated["default_scopes"] == ["read"]
    assert updated["audiences"] == [API]
    assert _token_status(http, created["client_id"], created["client_secret"], scope="audit") == 200
    assert api.ok("GET", path) == updated


def test_update_adds_and_removes_audiences(api: Caller) -> None:
    path = f"/clients/{_created(api)['client_id']}"

    updated = api.ok(
        "PATCH", path, {"add_audiences": ["https://billing.example"], "remove_audiences": [API]}
    )

    assert updated["audiences"] == ["https://billing.example"]


def test_disable_refuses_the_client_at_the_token_endpoint_and_enable_lets_it_in(
    api: Caller, http: TestClient
) -> None:
    created = _created(api)
    client_id, secret = created["client_id"], created["client_secret"]

    disabled = api.ok("POST", f"/clients/{client_id}/disable")
    assert disabled["disabled"] is True
    assert _token_status(http, client_id, secret) == 401

    enabled = api.ok("POST", f"/clients/{client_id}/enable", {})
    assert enabled["disabled"] is False
    assert _token_status(http, client_id, secret) == 200


def test_delete_answers_as_the_cli_and_the_client_is_gone(api: Caller, http: TestClient) -> None:
    created = _created(api)
    client_id = created["client_id"]

    assert api.ok("DELETE", f"/clients/{client_id}") == {"client_id": client_id, "deleted": True}
    assert _token_status(http, client_id, created["client_secret"]) == 401
    assert _error(api, "GET", f"/clients/{client_id}") == (
        404,
        {"error": "not_found", "error_description": f"no client {client_id!r}"},
    )


def test_rotate_secret_answers_the_new_secret_once_and_both_work_for_the_grace(
    api: Caller, http: TestClient
) -> None:
    created = _created(api)
    client_id = created["client_id"]

    rotated = api.ok("POST", f"/clients/{client_id}/rotate-secret", {"grace": "1h"})

    assert rotated["client_secret"] not in ("", created["client_secret"])
    assert rotated["previous_secret_expires_at"] is not None
    assert _token_status(http, client_id, rotated["client_secret"]) == 200
    assert _token_status(http, client_id, created["client_secret"]) == 200
    at_once = api.ok("POST", f"/clients/{client_id}/rotate-secret", {"grace": 0})
    assert at_once["previous_secret_expires_at"] is None
    assert _token_status(http, client_id, rotated["client_secret"]) == 401
    assert _token_status(http, client_id, at_once["client_secret"]) == 200


def test_set_introspection_replaces_whose_tokens_the_client_may_introspect(api: Caller) -> None:
    path = f"/clients/{_created(api)['client_id']}/introspection"

    served = api.ok("PUT", path, {"resource_servers": [API]})
    gateway = api.ok("PUT", path, {"introspect_any": True})
    own = api.ok("PUT", path)

    assert (served["resource_servers"], served["introspect_any"]) == ([API], False)
    assert (gateway["resource_servers"], gateway["introspect_any"]) == ([], True)
    assert (own["resource_servers"], own["introspect_any"]) == ([], False)


def test_an_admin_client_made_by_the_cli_works_and_the_api_makes_none(
    api: Caller, http: TestClient, admin_client: Registered
) -> None:
    shown = api.ok("GET", f"/clients/{admin_client.client_id}")
    assert (shown["grant_types"], shown["scopes"]) == (["client_credentials"], ["authority:admin"])

    refused = _error(api, "POST", "/clients", {**SERVICE, "scopes": ["read", "authority:admin"]})
    sneaked = _error(api, "POST", "/clients", {**SERVICE, "admin": True})
    promoted = _error(
        api, "PATCH", f"/clients/{_created(api)['client_id']}", {"scopes": ["authority:admin"]}
    )

    assert refused[0] == promoted[0] == 400
    assert refused[1]["field"] == promoted[1]["field"] == "scopes"
    assert "authority:admin scope is for admin clients only" in refused[1]["error_description"]
    assert sneaked == (
        400,
        {
            "error": "invalid_request",
            "error_description": "'admin' is not a member this operation takes",
            "field": "admin",
        },
    )


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "description"),
    [
        ({"grant_types": ["client_credentials"]}, "name", "name is required"),
        ({"name": "x"}, "grant_types", "grant_types is required"),
        ({**SERVICE, "name": 7}, "name", "name must be a string"),
        ({**SERVICE, "name": None}, "name", "name is required"),
        ({**SERVICE, "scopes": "read write"}, "scopes", "scopes must be an array of strings"),
        ({**SERVICE, "scopes": ["read", 1]}, "scopes", "scopes must be a string"),
        ({**SERVICE, "audiences": None}, "audiences", "audiences must not be null"),
        ({**SERVICE, "public": "yes"}, "public", "public must be true or false"),
        (
            {**SERVICE, "name": "a\u0000b"},
            "name",
            "name must not contain control characters",
        ),
        ({**SERVICE, "color": "red"}, "color", "'color' is not a member this operation takes"),
        (
            {**SERVICE, "grant_types": ["implicit"]},
            "grant_types",
            "--grant must be one or more of: authorization_code, client_credentials, "
            "password, refresh_token",
        ),
        (
            {**SERVICE, "default_scopes": ["admin"]},
            "default_scopes",
            "--default-scope must be a subset of --scope",
        ),
        (
            {**SERVICE, "audiences": ["not a uri"]},
            "audiences",
            "--audience must be an absolute URI without fragment: not a uri",
        ),
        (
            {**SERVICE, "scopes": ['a"b']},
            "scopes",
            "'a'b' is not a valid scope token",
        ),
        (
            {**SERVICE, "access_token_alg": "HS256"},
            "access_token_alg",
            "--alg must be one of ES256, RS256, EdDSA",
        ),
        (
            {**SERVICE, "grant_types": ["refresh_token"]},
            "grant_types",
            "--grant refresh_token alone issues nothing: a refresh token only continues a "
            "session that password or authorization_code starts; add one of them",
        ),
        (
            {**SERVICE, "redirect_uris": ["https://app.example/cb"]},
            "redirect_uris",
            "--redirect-uri is for browser sign-in, which this client does not use: it needs "
            "--grant authorization_code",
        ),
        ({**SERVICE, "name": " "}, "name", "a client name must hold 1 to 200 characters"),
    ],
)
def test_create_refuses_a_bad_member_by_name(
    api: Caller, body: dict[str, Any], field: str, description: str
) -> None:
    assert _error(api, "POST", "/clients", body) == (
        400,
        {"error": "invalid_request", "error_description": description, "field": field},
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"add_allowed_origins": ["http://app.example"]}, "add_allowed_origins"),
        ({"add_redirect_uris": ["https://app.example/cb"]}, "add_redirect_uris"),
        ({"remove_audiences": ["https://other.example"]}, "remove_audiences"),
        ({"scopes": ["write"]}, "scopes"),  # drops the default scope read
        ({"consent": "no"}, "consent"),
        ({"add_audiences": [API], "remove_audiences": [API]}, "add_audiences"),
    ],
)
def test_update_refuses_a_bad_member_by_name(api: Caller, body: dict[str, Any], field: str) -> None:
    status, answer = _error(api, "PATCH", f"/clients/{_created(api)['client_id']}", body)

    assert (status, answer["error"], answer["field"]) == (400, "invalid_request", field)


def test_an_update_that_changes_nothing_is_400_without_a_field(api: Caller) -> None:
    assert _error(api, "PATCH", f"/clients/{_created(api)['client_id']}", {}) == (
        400,
        {
            "error": "invalid_request",
            "error_description": "name at least one change (see 'authority clients update --help')",
        },
    )


@pytest.mark.parametrize(
    ("grace", "field"),
    [("forever", "grace"), (-1, "grace"), (91 * 86400, "grace"), (True, "grace"), (1.5, "grace")],
)
def test_rotate_secret_refuses_a_bad_grace(api: Caller, grace: object, field: str) -> None:
    status, answer = _error(
        api, "POST", f"/clients/{_created(api)['client_id']}/rotate-secret", {"grace": grace}
    )

    assert (status, answer["field"]) == (400, field)


def test_rotating_a_public_clients_secret_is_a_conflict(api: Caller) -> None:
    spa = _created(
        api,
        name="spa",
        grant_types=["authorization_code"],
        scopes=["openid"],
        default_scopes=None,
        audiences=[],
        redirect_uris=["https://app.example/callback"],
        public=True,
    )

    status, answer = _error(api, "POST", f"/clients/{spa['client_id']}/rotate-secret")

    assert (status, answer["error"]) == (409, "conflict")
    assert "it has no secret to rotate" in answer["error_description"]


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/disable"),
        ("POST", "/enable"),
        ("POST", "/rotate-secret"),
        ("PUT", "/introspection"),
    ],
)
def test_an_unknown_client_is_404(api: Caller, method: str, suffix: str) -> None:
    body = {"name": "x"} if method == "PATCH" else None

    assert _error(api, method, f"/clients/nobody{suffix}", body) == (
        404,
        {"error": "not_found", "error_description": "no client 'nobody'"},
    )


def test_a_client_id_with_a_control_character_is_404_and_reaches_no_database(
    api: Caller,
) -> None:
    status, answer = _error(api, "GET", "/clients/a%00b")

    assert (status, answer) == (
        404,
        {"error": "not_found", "error_description": "no client 'a/x00b'"},
    )


def test_a_body_that_is_not_a_json_object_is_400(api: Caller) -> None:
    path = "/clients"
    as_form = api(
        "POST",
        path,
        content=b"name=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    broken = api("POST", path, content=b'{"name":', headers={"Content-Type": "application/json"})
    array = api("POST", path, content=b"[1]", headers={"Content-Type": "application/json"})
    deep = api("POST", path, content=b"[" * 50000, headers={"Content-Type": "application/json"})
    repeated = api(
        "POST",
        path,
        content=b'{"name":"a","name":"b"}',
        headers={"Content-Type": "application/json"},
    )

    assert [r.status_code for r in (as_form, broken, array, deep, repeated)] == [400] * 5
    assert (
        as_form.json()["error_description"] == "the request body must be application/json (UTF-8)"
    )
    assert broken.json()["error_description"] == "the request body is not valid JSON"
    assert deep.json()["error_description"] == "the request body is not valid JSON"
    assert array.json()["error_description"] == "the request body must be a JSON object"
    assert repeated.json()["error_description"] == "parameter name must not be repeated"


def test_a_body_over_64_kib_is_413(api: Caller) -> None:
    response = api("POST", "/clients", {**SERVICE, "name": "x" * 70000})

    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"


def test_an_admin_token_is_no_token_for_anything_else(
    api: Caller, http: TestClient, admin_client: Registered
) -> None:
    # The admin client asks for nothing but its own scope, for the authority itself.
    assert _token_status(http, admin_client.client_id, admin_client.secret, scope="read") == 400
    other = _token_status(http, admin_client.client_id, admin_client.secret, resource=API)
    assert other == 400
    token = client_token(http, admin_client, resource=ISSUER)
    assert api("GET", "/clients", token=token).status_code == 200
