"""`authority clients ...`: provisioning OAuth clients."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from sqlalchemy import select

from authority.storage.sql import SqlStorage
from authority.storage.tables import clients
from tests.cli.support import Run, assert_failed

CREATE = ("clients", "create", "billing", "--grant", "client_credentials")


def _create(run: Run, *extra: str) -> dict[str, object]:
    return run(*CREATE, "--scope", "invoices:read invoices:write", *extra, "--json").json()


def _stored_clients(database_url: str) -> list[dict[str, object]]:
    storage = SqlStorage.from_url(database_url)
    try:
        with storage.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(select(clients))]
    finally:
        storage.close()


# -- refused -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "word"),
    [
        (("--grant", "implicit"), "--grant"),
        (("--grant", "urn:ietf:params:oauth:grant-type:device_code"), "--grant"),
        (("--audience", "api.example"), "--audience"),
        (("--audience", "https://api.example/#top"), "--audience"),
        (("--scope", 'bad"scope'), "scope"),
        (("--scope", "read", "--default-scope", "write"), "--default-scope"),
        (("--resource-server", "api.example"), "--resource-server"),
        (("--resource-server", "https://api.example/#top"), "--resource-server"),
    ],
)
def test_create_refuses_bad_input_and_stores_nothing(
    run: Run, database_url: str, extra: tuple[str, ...], word: str
) -> None:
    result = run(*CREATE, *extra, "--json")

    assert_failed(result, word)
    assert _stored_clients(database_url) == []


def test_create_refuses_a_blank_name(run: Run) -> None:
    assert_failed(run("clients", "create", "  ", "--grant", "password", "--json"), "name")


@pytest.mark.parametrize("action", ["show", "disable", "enable", "delete", "set-introspection"])
def test_an_unknown_client_id_fails(run: Run, action: str) -> None:
    assert_failed(run("clients", action, "no-such-client", "--json"), "no-such-client")


def test_a_deleted_client_is_gone(run: Run) -> None:
    client_id = str(_create(run)["client_id"])

    deleted = run("clients", "delete", client_id, "--json").json()

    assert deleted == {"client_id": client_id, "deleted": True}
    assert_failed(run("clients", "show", client_id, "--json"), client_id)
    assert_failed(run("clients", "delete", client_id, "--json"), client_id)
    assert run("clients", "list", "--json").json() == {"clients": []}


# -- create --------------------------------------------------------------------------------


def test_create_prints_one_json_object_with_the_id_and_secret(run: Run) -> None:
    created = _create(run, "--audience", "https://billing.example")

    assert isinstance(created["client_id"], str)
    assert isinstance(created["client_secret"], str)
    assert len(created["client_secret"]) >= 43
    assert created["name"] == "billing"
    assert created["grant_types"] == ["client_credentials"]
    assert created["scopes"] == ["invoices:read", "invoices:write"]
    assert created["default_scopes"] == ["invoices:read", "invoices:write"]
    assert created["audiences"] == ["https://billing.example"]
    assert created["disabled"] is False
    assert created["resource_servers"] == []
    assert created["introspect_any"] is False
    assert "secret_hash" not in created


def test_create_stores_only_a_keyed_hash_of_the_secret(
    run: Run, database_url: str, keys_dir: Path
) -> None:
    created = _create(run)
    secret = str(created["client_secret"])

    (row,) = _stored_clients(database_url)

    assert row["client_id"] == created["client_id"]
    assert all(secret not in str(value) for value in row.values())
    key = bytes.fromhex((keys_dir / "hash.key").read_text().strip())
    assert row["secret_hash"] == hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def test_create_accepts_repeated_flags_and_default_scopes(run: Run) -> None:
    created = run(
        "clients", "create", "web",
        "--grant", "password", "--grant", "refresh_token",
        "--scope", "read", "--scope", "write admin",
        "--default-scope", "read",
        "--audience", "https://a.example", "--audience", "https://b.example",
        "--json",
    ).json()  # fmt: skip

    assert created["grant_types"] == ["password", "refresh_token"]
    assert created["scopes"] == ["read", "write", "admin"]
    assert created["default_scopes"] == ["read"]
    assert created["audiences"] == ["https://a.example", "https://b.example"]


def test_create_registers_a_resource_server_and_a_client_that_introspects_any_token(
    run: Run,
) -> None:
    api = _create(
        run, "--resource-server", "https://api.example", "--resource-server", "https://b.example"
    )
    gateway = _create(run, "--introspect-any")

    assert api["resource_servers"] == ["https://api.example", "https://b.example"]
    assert api["introspect_any"] is False
    assert gateway["resource_servers"] == [] and gateway["introspect_any"] is True
    shown = run("clients", "show", str(api["client_id"]), "--json").json()
    assert shown == {k: v for k, v in api.items() if k != "client_secret"}


def test_set_introspection_replaces_what_a_client_may_introspect(run: Run) -> None:
    client_id = str(_create(run, "--resource-server", "https://old.example")["client_id"])

    changed = run(
        "clients", "set-introspection", client_id, "--resource-server", "https://api.example",
        "--json",
    ).json()  # fmt: skip
    assert (changed["resource_servers"], changed["introspect_any"]) == (
        ["https://api.example"],
        False,
    )
    widened = run("clients", "set-introspection", client_id, "--introspect-any", "--json").json()
    assert (widened["resource_servers"], widened["introspect_any"]) == ([], True)
    own = run("clients", "set-introspection", client_id, "--json").json()
    assert (own["resource_servers"], own["introspect_any"]) == ([], False)
    shown = run("clients", "show", client_id, "--json").json()
    assert (shown["resource_servers"], shown["introspect_any"]) == ([], False)
    bad = run("clients", "set-introspection", client_id, "--resource-server", "x", "--json")
    assert_failed(bad, "--resource-server")


def test_list_for_humans_says_which_tokens_each_client_may_introspect(run: Run) -> None:
    _create(run)
    _create(run, "--resource-server", "https://api.example")
    _create(run, "--introspect-any")

    lines = run("clients", "list").out.splitlines()

    assert lines[0].split()[-1] == "introspects"
    assert [line.split()[-1] for line in lines[1:]] == ["own", "https://api.example", "any"]


def test_create_without_json_shows_the_secret_once_for_humans(run: Run) -> None:
    result = run(*CREATE)

    assert result.code == 0
    assert "client_secret:" in result.out
    assert "shown once" in result.out
    assert result.err == ""


def test_every_secret_is_new(run: Run) -> None:
    first, second = _create(run), _create(run)

    assert first["client_id"] != second["client_id"]
    assert first["client_secret"] != second["client_secret"]


# -- list, show, disable, enable -----------------------------------------------------------


def test_list_shows_every_client_without_secrets(run: Run) -> None:
    first, second = _create(run), _create(run)

    listed = run("clients", "list", "--json").json()

    assert {c["client_id"] for c in listed["clients"]} == {
        first["client_id"],
        second["client_id"],
    }
    for client in listed["clients"]:
        assert "client_secret" not in client
        assert "secret_hash" not in client


def test_list_for_humans_says_when_there_are_none(run: Run) -> None:
    result = run("clients", "list")

    assert (result.code, result.out) == (0, "(none)\n")


def test_show_gives_the_client_without_its_secret(run: Run) -> None:
    created = _create(run)

    shown = run("clients", "show", str(created["client_id"]), "--json").json()

    assert shown == {k: v for k, v in created.items() if k != "client_secret"}


def test_disable_and_enable_a_client(run: Run) -> None:
    client_id = str(_create(run)["client_id"])

    disabled = run("clients", "disable", client_id, "--json").json()
    assert disabled["disabled"] is True
    assert run("clients", "show", client_id, "--json").json()["disabled"] is True

    enabled = run("clients", "enable", client_id, "--json").json()
    assert enabled["disabled"] is False
    assert run("clients", "show", client_id, "--json").json()["disabled"] is False
