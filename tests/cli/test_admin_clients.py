"""`authority clients create NAME --admin`: the admin API's client, the only kind that holds
the authority:admin scope; no other create or update can give that scope."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cli.support import Run, assert_failed

ONLY_ADMIN = "the authority:admin scope is for admin clients only"


def _admin(run: Run, *extra: str) -> dict[str, Any]:
    return run("clients", "create", "ops", "--admin", *extra, "--json").json()


def test_admin_gives_the_client_credentials_grant_and_the_admin_scope(run: Run) -> None:
    created = _admin(run)

    assert created["grant_types"] == ["client_credentials"]
    assert created["scopes"] == created["default_scopes"] == ["authority:admin"]
    assert created["client_secret"]
    assert run("clients", "show", created["client_id"], "--json").json()["scopes"] == [
        "authority:admin"
    ]


def test_admin_keeps_other_scopes_it_is_given(run: Run) -> None:
    created = _admin(run, "--grant", "client_credentials", "--scope", "metrics")

    assert created["scopes"] == ["authority:admin", "metrics"]


@pytest.mark.parametrize(
    "flags",
    [
        ("--grant", "password"),
        ("--grant", "client_credentials", "--grant", "refresh_token"),
    ],
)
def test_an_admin_client_uses_no_other_grant(run: Run, flags: tuple[str, ...]) -> None:
    assert_failed(
        run("clients", "create", "ops", "--admin", *flags),
        "an admin client (--admin) uses the client_credentials grant alone",
    )


def test_an_admin_client_has_a_secret(run: Run) -> None:
    assert_failed(run("clients", "create", "ops", "--admin", "--public"), "public client")


@pytest.mark.parametrize("flag", ["--scope", "--default-scope"])
def test_create_without_admin_refuses_the_admin_scope(run: Run, flag: str) -> None:
    scope = ("--scope", "read authority:admin") if flag == "--default-scope" else ()
    result = run(
        "clients", "create", "svc", "--grant", "client_credentials", *scope,
        flag, "authority:admin",
    )  # fmt: skip

    assert_failed(result, ONLY_ADMIN)


def test_create_without_a_grant_or_admin_says_what_to_add(run: Run) -> None:
    assert_failed(run("clients", "create", "svc"), "--grant must be one or more of")


def test_update_cannot_give_a_client_the_admin_scope(run: Run) -> None:
    svc = run(
        "clients", "create", "svc", "--grant", "client_credentials", "--scope", "read", "--json"
    ).json()

    assert_failed(
        run("clients", "update", svc["client_id"], "--scope", "read authority:admin"), ONLY_ADMIN
    )


def test_an_admin_client_keeps_its_scope_and_its_one_grant_but_may_be_renamed(run: Run) -> None:
    client_id = _admin(run)["client_id"]

    dropped = run(
        "clients", "update", client_id, "--scope", "metrics", "--default-scope", "metrics"
    )
    regranted = run("clients", "update", client_id, "--grant", "password", "--scope",
                    "authority:admin openid")  # fmt: skip
    renamed = run("clients", "update", client_id, "--name", "ops-2", "--json")

    assert_failed(dropped, "an admin client keeps the authority:admin scope")
    assert_failed(regranted, "uses the client_credentials grant alone")
    assert renamed.json()["name"] == "ops-2"
