"""The admin API and the audit trail: each change made through the API is a row naming the
admin client that made it and the request it came with, written by the server's audit writer;
and GET /admin/audit reads the trail as `authority audit list --json` does."""

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


# -- GET /admin/audit ---------------------------------------------------------------------


def _listed(api: Caller, query: str = "") -> dict[str, Any]:
    return api.ok("GET", f"/audit{query}")


def test_lists_the_trail_newest_first_with_every_member(
    api: Caller, authority: Authority, admin_client: Registered
) -> None:
    _change(api, "POST", "/users", {"username": "dora", "password": PASSWORD}, "req-1")
    _change(api, "POST", "/users/dora/disable", None, "req-2")
    trail(authority)  # written

    events = _listed(api)["events"]

    assert [e["type"] for e in events] == ["user.disabled", "user.created"]
    assert set(events[0]) == {
        "id",
        "time",
        "at",
        "type",
        "actor_kind",
        "actor",
        "subject",
        "client_id",
        "ip",
        "user_agent",
        "request_id",
        "detail",
    }
    assert (events[0]["actor"], events[0]["request_id"]) == (admin_client.client_id, "req-2")
    assert events[1]["detail"] == {"username": "dora"}
    assert "next" not in _listed(api)


def test_filters_by_type_group_user_and_client(
    api: Caller, authority: Authority, target: str
) -> None:
    _change(api, "POST", "/users", {"username": "dora", "password": PASSWORD})
    _change(api, "POST", "/users", {"username": "erin", "password": PASSWORD})
    _change(api, "POST", f"/clients/{target}/disable")
    _change(api, "POST", "/users/erin/disable")
    trail(authority)

    def types(query: str) -> list[str]:
        return [e["type"] for e in _listed(api, query)["events"]]

    assert types("?type=user") == ["user.disabled", "user.created", "user.created"]
    assert types("?type=client.disabled&type=user.disabled") == [
        "user.disabled",
        "client.disabled",
    ]
    assert types("?user=erin") == ["user.disabled", "user.created"]
    assert types(f"?client={target}") == ["client.disabled"]
    assert types("?since=1h") == types("")
    assert types("?until=2000-01-01") == []
    assert types("?user=nobody") == []


def test_pages_follow_each_other_with_before(api: Caller, authority: Authority) -> None:
    for name in ("u1", "u2", "u3", "u4", "u5"):
        _change(api, "POST", "/users", {"username": name, "password": PASSWORD})
    trail(authority)

    seen: list[str] = []
    query = "?limit=2"
    while True:
        page = _listed(api, query)
        seen += [e["detail"]["username"] for e in page["events"]]
        if "next" not in page:
            break
        query = f"?limit=2&before={page['next']}"

    assert seen == ["u5", "u4", "u3", "u2", "u1"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=yesterday", "since"),
        ("until=soon", "until"),
        ("type=nothing.such", "type"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("before=0", "before"),
        ("before=" + "9" * 5000, "before"),
        ("before=123456", "before"),  # no such event
        ("user=a&user=b", "user"),
        ("page=2", "page"),
        ("client=%00", "client"),
    ],
)
def test_a_bad_filter_is_400_naming_it(api: Caller, query: str, field: str) -> None:
    response = api("GET", f"/audit?{query}")

    assert response.status_code == 400
    assert (response.json()["error"], response.json()["field"]) == ("invalid_request", field)
