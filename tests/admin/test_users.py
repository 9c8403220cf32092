"""/admin/users: each operation of `authority users` over HTTP (sessions included), and what
it refuses."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from authority.admin.provision import Admin
from authority.storage import User
from tests.admin.conftest import Caller
from tests.conftest import Registered

PASSWORD = "correct horse battery"
NEW_PASSWORD = "another long passphrase"


def _user(api: Caller, username: str, **extra: Any) -> dict[str, Any]:
    body = {"username": username, "password": PASSWORD, **extra}
    return api.ok("POST", "/users", body, status=201)


def _login(http: TestClient, app: Registered, username: str, password: str = PASSWORD) -> int:
    form = {"grant_type": "password", "username": username, "password": password}
    return http.post("/token", data=form, auth=app.basic).status_code


def _refresh_token(http: TestClient, app: Registered, username: str) -> str:
    form = {"grant_type": "password", "username": username, "password": PASSWORD}
    response = http.post("/token", data=form, auth=app.basic)
    assert response.status_code == 200, response.text
    token: str = response.json()["refresh_token"]
    return token


def _refreshes(http: TestClient, app: Registered, token: str) -> bool:
    form = {"grant_type": "refresh_token", "refresh_token": token}
    return http.post("/token", data=form, auth=app.basic).status_code == 200


def _error(api: Caller, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
    response = api(method, path, body, **kw)
    return response.status_code, response.json()


def test_create_answers_the_user_and_the_password_signs_in(
    api: Caller, http: TestClient, app_client: Registered
) -> None:
    created = _user(api, "bob", email="Bob@Example.com")

    assert (created["username"], created["email"], created["disabled"]) == (
        "bob",
        "bob@example.com",
        False,
    )
    assert "password" not in str(created)
    assert _login(http, app_client, "bob") == 200
    assert api.ok("GET", "/users/bob") == created


def test_list_pages_by_username_with_limit_and_after(api: Caller) -> None:
    for name in ("carol", "alice", "bob"):
        _user(api, name)

    first = api.ok("GET", "/users?limit=2")
    second = api.ok("GET", f"/users?limit=2&after={first['next']}")
    found = api.ok("GET", "/users?search=AR")

    assert [u["username"] for u in first["users"]] == ["alice", "bob"]
    assert first["next"] == "bob"
    assert [u["username"] for u in second["users"]] == ["carol"]
    assert "next" not in second
    assert [u["username"] for u in found["users"]] == ["carol"]


def test_a_listing_without_limit_is_one_page_of_a_hundred(api: Caller, admin: Admin) -> None:
    for i in range(101):
        admin.storage.add_user(User(str(uuid.uuid4()), f"user{i:03}", None, "!", False, 0))

    page = api.ok("GET", "/users")

    assert len(page["users"]) == 100
    assert page["next"] == "user099"


def test_update_renames_and_sets_or_removes_the_address(api: Caller) -> None:
    _user(api, "bob", email="bob@example.com")

    renamed = api.ok("PATCH", "/users/bob", {"username": "robert"})
    readdressed = api.ok("PATCH", "/users/robert", {"email": "rob@example.com"})
    removed = api.ok("PATCH", "/users/robert", {"email": None})

    assert (renamed["username"], renamed["email"]) == ("robert", "bob@example.com")
    assert (readdressed["email"], readdressed["email_verified"]) == ("rob@example.com", False)
    assert removed["email"] is None
    assert _error(api, "GET", "/users/bob")[0] == 404


def test_a_taken_username_or_address_is_409(api: Caller) -> None:
    _user(api, "bob", email="bob@example.com")
    _user(api, "carol")

    again = _error(api, "POST", "/users", {"username": "BOB", "password": PASSWORD})
    renamed = _error(api, "PATCH", "/users/carol", {"username": "bob"})
    readdressed = _error(api, "PATCH", "/users/carol", {"email": "bob@example.com"})

    assert again == (409, {"error": "conflict", "error_description": "username 'BOB' is taken"})
    assert renamed == (409, {"error": "conflict", "error_description": "username 'bob' is taken"})
    assert readdressed[0] == 409


def test_disable_refuses_the_user_and_enable_lets_them_in(
    api: Caller, http: TestClient, app_client: Registered
) -> None:
    _user(api, "bob")

    assert api.ok("POST", "/users/bob/disable")["disabled"] is True
    assert _login(http, app_client, "bob") == 400
    assert api.ok("POST", "/users/bob/enable")["disabled"] is False
    assert _login(http, app_client, "bob") == 200


def test_delete_ends_the_sessions_and_answers_as_the_cli(
    api: Caller, http: TestClient, app_client: Registered
) -> None:
    sub = _user(api, "bob")["sub"]
    token = _refresh_token(http, app_client, "bob")

    deleted = api.ok("DELETE", "/users/bob")

    assert deleted == {"sub": sub, "username": "bob", "deleted": True}
    assert not _refreshes(http, app_client, token)
    assert _error(api, "GET", "/users/bob") == (
        404,
        {"error": "not_found", "error_description": "no user 'bob'"},
    )


def test_set_password_ends_the_sessions_unless_told_to_keep_them(
    api: Caller, http: TestClient, app_client: Registered
) -> None:
    _user(api, "bob")
    kept = _refresh_token(http, app_client, "bob")

    keep = api.ok(
        "POST", "/users/bob/set-password", {"password": NEW_PASSWORD, "keep_sessions": True}
    )
    assert (keep["sessions_ended"], keep["sessions_kept"]) == (0, True)
    assert _refreshes(http, app_client, kept)

    end = api.ok("POST", "/users/bob/set-password", {"password": PASSWORD})

    assert (end["sessions_ended"], end["sessions_kept"], end["username"]) == (1, False, "bob")
    assert _login(http, app_client, "bob", NEW_PASSWORD) == 400
    assert _login(http, app_client, "bob") == 200


def test_sessions_are_listed_and_ended_one_or_all(
    api: Caller, http: TestClient, app_client: Registered
) -> None:
    _user(api, "bob")
    first, second = (_refresh_token(http, app_client, "bob") for _ in range(2))

    listed = api.ok("GET", "/users/bob/sessions")["sessions"]
    assert [(s["kind"], s["client_id"]) for s in listed] == [("app", app_client.client_id)] * 2

    one = api.ok("DELETE", f"/users/bob/sessions/{listed[0]['id']}")
    assert one == {"ended": 1}
    assert len(api.ok("GET", "/users/bob/sessions")["sessions"]) == 1
    assert api.ok("DELETE", "/users/bob/sessions") == {"ended": 1}
    assert api.ok("GET", "/users/bob/sessions") == {"sessions": []}
    assert not _refreshes(http, app_client, first)
    assert not _refreshes(http, app_client, second)
    assert _error(api, "DELETE", f"/users/bob/sessions/{listed[0]['id']}") == (
        404,
        {"error": "not_found", "error_description": f"no live session {listed[0]['id']!r} for bob"},
    )


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "description"),
    [
        ({"password": PASSWORD}, "username", "username is required"),
        ({"username": "bob"}, "password", "password is required"),
        (
            {"username": "bob smith", "password": PASSWORD},
            "username",
            "a username holds 1 to 150 letters or digits of one script, and . _ - @ +; "
            "no spaces, invisible or look-alike characters",
        ),
        (
            {"username": "bob", "password": PASSWORD, "email": "nope"},
            "email",
            "'nope' is not an email address",
        ),
        (
            {"username": "bob", "password": "short"},
            "password",
            "a password needs at least 10 characters",
        ),
        (
            {"username": "bob", "password": PASSWORD, "sub": "mine"},
            "sub",
            "'sub' is not a member this operation takes",
        ),
    ],
)
def test_create_refuses_a_bad_member_by_name(
    api: Caller, body: dict[str, Any], field: str, description: str
) -> None:
    status, answer = _error(api, "POST", "/users", body)

    assert (status, answer["field"], answer["error"]) == (400, field, "invalid_request")
    assert answer["error_description"].startswith(description)


def test_a_lone_surrogate_is_400_naming_the_member(api: Caller) -> None:
    body = b'{"username": "bob", "password": "\\ud800 is no character"}'

    status, answer = _error(
        api, "POST", "/users", content=body, headers={"Content-Type": "application/json"}
    )

    assert (status, answer) == (
        400,
        {
            "error": "invalid_request",
            "error_description": "password must be valid Unicode (a lone surrogate is not)",
            "field": "password",
        },
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("limit=" + "9" * 5000, "limit"),
        ("limit=1&limit=2", "limit"),
        ("page=2", "page"),
        ("search=%00", "search"),
    ],
)
def test_a_bad_listing_parameter_is_400_naming_it(api: Caller, query: str, field: str) -> None:
    status, answer = _error(api, "GET", f"/users?{query}")

    assert (status, answer["error"], answer["field"]) == (400, "invalid_request", field)


def test_an_update_that_changes_nothing_is_400_without_a_field(api: Caller) -> None:
    _user(api, "bob")

    assert _error(api, "PATCH", "/users/bob", {}) == (
        400,
        {
            "error": "invalid_request",
            "error_description": "name a change: --username, --email or --no-email",
        },
    )


def test_a_weak_new_password_is_400_naming_the_password(api: Caller) -> None:
    _user(api, "bob")

    status, answer = _error(api, "POST", "/users/bob/set-password", {"password": "bob"})

    assert (status, answer["field"]) == (400, "password")


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/disable"),
        ("POST", "/enable"),
        ("POST", "/set-password"),
        ("GET", "/sessions"),
        ("DELETE", "/sessions"),
        ("DELETE", "/sessions/abc"),
    ],
)
def test_an_unknown_user_is_404(api: Caller, method: str, suffix: str) -> None:
    bodies: dict[str, dict[str, str | None]] = {
        "/set-password": {"password": NEW_PASSWORD},
        "": {"email": None},
    }
    body = bodies.get(suffix) if method in ("PATCH", "POST") else None

    assert _error(api, method, f"/users/nobody{suffix}", body) == (
        404,
        {"error": "not_found", "error_description": "no user 'nobody'"},
    )


def test_a_username_with_a_control_character_is_404(api: Caller) -> None:
    assert _error(api, "GET", "/users/bob%00")[0] == 404
    assert _error(api, "DELETE", "/users/bob/sessions/a%01")[0] == 404
