"""The admin API and the audit trail: each change made through the API is a row naming the
admin client that made it and the request it came with, written by the server's audit writer."""

from __future__ import annotations

from typing import Any

import pytest

from authority.admin.provision import Admin
from authority.runtime import Authority
from tests.admin.conftest import Caller
from tests.conftest import Registered
from tests.http.audit_helpers import trail

PASSWORD = "correct horse battery"


def _change(api: Caller, method: str, path: str, body: Any = None, request_id: str = "") -> None:
    response = api(method, path, body, headers={"X-Request-ID": request_id})
    assert response.status_code in (200, 201), response.text


@pytest.fixture
def bob(admin: Admin) -> str:
    return admin.create_user("bob", PASSWORD, None).sub


@pytest.fixture
def target(admin: Admin) -> str:
    client, _ = admin.create_client("target", ["client_credentials"], ["read"], None, [])
    return client.client_id


# Each change the API makes: (method, path, body, the event it records, whom it is about).
CHANGES = [
    ("POST", "/clients", {"name": "new", "grant_types": ["client_credentials"]}, "client.created"),
    ("PATCH", "/clients/{client}", {"name": "renamed"}, "client.updated"),
    ("PUT", "/clients/{client}/introspection", {"introspect_any": True}, "client.updated"),
    ("POST", "/clients/{client}/disable", None, "client.disabled"),
    ("POST", "/clients/{client}/enable", None, "client.enabled"),
    ("POST", "/clients/{client}/rotate-secret", {"grace": 0}, "client.secret_rotated"),
    ("DELETE", "/clients/{client}", None, "client.deleted"),
    ("POST", "/users", {"username": "carol", "password": PASSWORD}, "user.created"),
    ("PATCH", "/users/bob", {"email": "bob@example.com"}, "user.updated"),
    ("POST", "/users/bob/disable", None, "user.disabled"),
    ("POST", "/users/bob/enable", None, "user.enabled"),
    ("POST", "/users/bob/set-password", {"password": PASSWORD + "!"}, "user.password_set"),
    ("DELETE", "/users/bob/sessions", None, "user.logged_out"),
    ("DELETE", "/users/bob", None, "user.deleted"),
    ("POST", "/keys", {"alg": "EdDSA"}, "key.generated"),
    ("POST", "/keys/rotate", {"alg": "ES256", "force": True}, "key.rotated"),
]


@pytest.mark.parametrize(("method", "path", "body", "type"), CHANGES)
def test_each_change_is_a_row_naming_the_admin_client_and_the_request(
    api: Caller,
    authority: Authority,
    admin_client: Registered,
    bob: str,
    target: str,
    method: str,
    path: str,
    body: Any,
    type: str,
) -> None:
    _change(api, method, path.format(client=target), body, request_id="ops-change-1")

    [record] = [r for r in trail(authority) if r.type == type]
    assert (record.actor_kind, record.actor) == ("client", admin_client.client_id)
    assert record.request_id == "ops-change-1"
    if "{client}" in path:
        assert record.subject == target
    elif "/users/bob" in path:
        assert record.subject == bob


def test_a_refused_change_records_nothing(api: Caller, authority: Authority) -> None:
    assert api("POST", "/users", {"username": "x y", "password": PASSWORD}).status_code == 400
    assert api("POST", "/clients/nobody/disable").status_code == 404

    assert trail(authority) == []
