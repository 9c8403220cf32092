"""/admin/keys: `authority keys list|generate|rotate` over HTTP, the emergency rotation too."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from authority.runtime import Authority
from tests.admin.conftest import Caller, client_token
from tests.conftest import Registered


def _states(api: Caller) -> dict[str, str]:
    return {k["kid"]: k["state"] for k in api.ok("GET", "/keys")["keys"]}


def _error(api: Caller, path: str, body: Any = None) -> tuple[int, Any]:
    response = api("POST", path, body)
    return response.status_code, response.json()


def test_list_gives_the_keys_and_their_states_and_no_private_half(api: Caller) -> None:
    keys = api.ok("GET", "/keys")["keys"]

    assert sorted(k["state"] for k in keys) == ["active", "next"]
    fields = {"kid", "alg", "state", "created_at", "activated_at", "retired_at", "removable_at"}
    fields.add("promote_at")  # when `keys rotate --at-earliest` scheduled its promotion
    assert all(set(k) == fields for k in keys)


def test_generate_publishes_a_next_key_for_another_algorithm(api: Caller) -> None:
    created = api.ok("POST", "/keys", {"alg": "EdDSA"}, status=201)

    assert (created["alg"], created["state"]) == ("EdDSA", "next")
    assert _states(api)[created["kid"]] == "next"


def test_generate_refuses_a_second_next_key_as_a_conflict(api: Caller) -> None:
    assert _error(api, "/keys", {"alg": "ES256"}) == (
        409,
        {"error": "conflict", "error_description": "a next ES256 key is already published"},
    )


def test_a_rotation_too_early_is_a_conflict_and_force_promotes(api: Caller) -> None:
    before = _states(api)
    status, refused = _error(api, "/keys/rotate")
    assert (status, refused["error"]) == (409, "conflict")
    assert "use --force to override" in refused["error_description"]

    [report] = api.ok("POST", "/keys/rotate", {"force": True})["rotations"]

    assert report["activated"] == next(k for k, s in before.items() if s == "next")
    assert report["retired"] == next(k for k, s in before.items() if s == "active")
    assert _states(api)[report["created_next"]] == "next"


def test_an_emergency_rotation_revokes_the_key_and_its_tokens_stop_working(
    api: Caller, http: TestClient, authority: Authority, admin_client: Registered
) -> None:
    [report] = api.ok(
        "POST", "/keys/rotate", {"alg": "ES256", "now": True, "revoke_current": True}
    )["rotations"]
    authority.keys.reload()  # the maintenance task's (or a change notice's) reload

    assert report["revoked"] is not None
    assert _states(api.with_token(client_token(http, admin_client)))[report["revoked"]] == (
        "revoked"
    )
    assert api("GET", "/keys").status_code == 401  # the old token: signed by the revoked key


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/keys", {}, "alg"),
        ("/keys", {"alg": "HS256"}, "alg"),
        ("/keys", {"alg": ["ES256"]}, "alg"),
        ("/keys/rotate", {"alg": "HS256"}, "alg"),
        ("/keys/rotate", {"revoke_current": True}, "revoke_current"),
        ("/keys/rotate", {"now": "yes"}, "now"),
        ("/keys/rotate", {"kid": "x"}, "kid"),
    ],
)
def test_bad_key_requests_are_400_naming_the_member(
    api: Caller, path: str, body: dict[str, Any], field: str
) -> None:
    status, answer = _error(api, path, body)

    assert (status, answer["error"], answer["field"]) == (400, "invalid_request", field)
