"""`authority clients update` of what a client may be issued, `clients rotate-secret`, and
the grants `clients create` refuses or warns about."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli.support import Run, assert_failed
from tests.cli.test_browser_clients import _stored_clients

API, BILLING = "https://api.example", "https://billing.example"
WEB = "https://app.example/callback"


def _service(run: Run, *extra: str) -> dict[str, Any]:
    return run(
        "clients", "create", "svc", "--grant", "client_credentials",
        "--scope", "read write", "--default-scope", "read", "--audience", API, *extra, "--json",
    ).json()  # fmt: skip


def _update(run: Run, client_id: str, *flags: str) -> dict[str, Any]:
    return run("clients", "update", client_id, *flags, "--json").json()


def _digest(keys_dir: Path, secret: str) -> str:
    key = bytes.fromhex((keys_dir / "hash.key").read_text().strip())
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


# -- clients update -------------------------------------------------------------------------


def test_update_renames_and_replaces_grants_scopes_and_audiences(run: Run) -> None:
    client_id = _service(run)["client_id"]

    updated = _update(
        run, client_id,
        "--name", "billing", "--grant", "client_credentials",
        "--scope", "read", "--scope", "invoices", "--default-scope", "invoices",
        "--add-audience", BILLING, "--remove-audience", API,
    )  # fmt: skip

    assert (updated["name"], updated["grant_types"]) == ("billing", ["client_credentials"])
    assert (updated["scopes"], updated["default_scopes"]) == (["read", "invoices"], ["invoices"])
    assert updated["audiences"] == [BILLING]
    assert run("clients", "show", client_id, "--json").json() == updated


def test_replaced_scopes_keep_the_default_scopes_they_still_allow(run: Run) -> None:
    client_id = _service(run)["client_id"]

    updated = _update(run, client_id, "--scope", "read admin")

    assert (updated["scopes"], updated["default_scopes"]) == (["read", "admin"], ["read"])


def test_an_audience_added_twice_stays_once(run: Run) -> None:
    client_id = _service(run)["client_id"]

    assert _update(run, client_id, "--audience", API, "--audience", BILLING)["audiences"] == [
        API,
        BILLING,
    ]


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (("--scope", "write"), ("--scope drops the default scope 'read'", "--default-scope")),
        (("--default-scope", "admin"), ("--default-scope must be a subset of --scope",)),
        (("--grant", "telepathy"), ("--grant must be one or more of",)),
        (("--grant", "refresh_token"), ("refresh_token alone issues nothing",)),
        (("--name", " "), ("a client name must hold 1 to 200 characters",)),
        (("--remove-audience", BILLING), ("--remove-audience", "is not registered")),
        (("--add-audience", "not a uri"), ("--add-audience must be an absolute URI",)),
        (("--scope", 'bad"scope'), ("scope",)),
    ],
)
def test_update_refuses_what_create_would_refuse_and_changes_nothing(
    run: Run, database_url: str, flags: tuple[str, ...], words: tuple[str, ...]
) -> None:
    client_id = _service(run)["client_id"]
    before = _stored_clients(database_url)

    assert_failed(run("clients", "update", client_id, *flags, "--json"), *words)
    assert _stored_clients(database_url) == before


def test_update_refuses_grants_that_no_longer_allow_the_browser_settings(
    run: Run, database_url: str
) -> None:
    web = run(
        "clients", "create", "web", "--grant", "authorization_code", "--scope", "openid",
        "--redirect-uri", WEB, "--json",
    ).json()  # fmt: skip
    before = _stored_clients(database_url)

    result = run("clients", "update", web["client_id"], "--grant", "password", "--json")

    assert result.err == (
        "authority: a redirect URI (remove it with --remove-redirect-uri) is for browser "
        "sign-in, which this client does not use: it needs --grant authorization_code\n"
    )
    assert_failed(result)
    assert _stored_clients(database_url) == before
    # Both at once: the grant changes and the URI goes
    switched = _update(run, web["client_id"], "--grant", "password", "--remove-redirect-uri", WEB)
    assert (switched["grant_types"], switched["redirect_uris"]) == (["password"], [])


def test_update_of_an_unknown_client_fails(run: Run) -> None:
    assert_failed(run("clients", "update", "nobody", "--name", "x", "--json"), "nobody")


# -- clients create: grants that issue nothing ------------------------------------------------


def test_create_refuses_refresh_token_alone_and_says_why(run: Run, database_url: str) -> None:
    result = run("clients", "create", "app", "--grant", "refresh_token", "--scope", "read")

    assert_failed(result, "refresh_token alone issues nothing", "password or authorization_code")
    assert _stored_clients(database_url) == []


def test_create_warns_about_a_user_grant_without_scopes(run: Run) -> None:
    result = run("clients", "create", "app", "--grant", "password", "--json")

    assert result.json()["scopes"] == []
    assert result.err == (
        "authority: warning: the password grant with no --scope issues access tokens that "
        'allow nothing, not even /userinfo: add --scope (e.g. "openid profile" and your '
        "APIs')\n"
    )
    assert run("clients", "create", "ok", "--grant", "password", "--scope", "read").err == ""


# -- clients rotate-secret --------------------------------------------------------------------


def test_rotate_secret_prints_a_new_secret_once_and_keeps_the_old_for_the_grace(
    run: Run, database_url: str, keys_dir: Path
) -> None:
    created = _service(run)
    before = int(time.time())

    rotated = run(
        "clients", "rotate-secret", created["client_id"], "--grace", "2h", "--json"
    ).json()

    secret = rotated.pop("client_secret")
    assert secret != created["client_secret"]
    expires = rotated.pop("previous_secret_expires_at")
    assert before + 7200 <= expires <= int(time.time()) + 7200
    (row,) = _stored_clients(database_url)
    assert row["secret_hash"] == _digest(keys_dir, secret)
    assert row["previous_secret_hash"] == _digest(keys_dir, created["client_secret"])
    shown = run("clients", "show", created["client_id"], "--json").json()
    assert "client_secret" not in shown and "previous_secret_hash" not in shown
    assert shown["previous_secret_expires_at"] == expires


def test_rotate_secret_grace_defaults_to_a_day_and_zero_revokes_the_old_at_once(
    run: Run, database_url: str
) -> None:
    client_id = _service(run)["client_id"]

    default = run("clients", "rotate-secret", client_id, "--json").json()
    assert default["previous_secret_expires_at"] >= int(time.time()) + 86400 - 5

    human = run("clients", "rotate-secret", client_id, "--grace", "0")
    assert human.code == 0
    assert "the old secret no longer works" in human.out
    ((row),) = _stored_clients(database_url)
    assert (row["previous_secret_hash"], row["previous_secret_expires_at"]) == ("", None)


def test_rotate_secret_refuses_a_public_or_unknown_client(run: Run, database_url: str) -> None:
    spa = run(
        "clients", "create", "spa", "--grant", "authorization_code", "--public",
        "--scope", "openid", "--redirect-uri", WEB, "--json",
    ).json()  # fmt: skip
    before = _stored_clients(database_url)

    assert_failed(run("clients", "rotate-secret", spa["client_id"]), "public", "no secret")
    assert_failed(run("clients", "rotate-secret", "nobody"), "no client 'nobody'")
    assert _stored_clients(database_url) == before


def test_rotate_secret_refuses_a_grace_that_is_no_duration(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    client_id = _service(run)["client_id"]

    with pytest.raises(SystemExit) as exited:
        run("clients", "rotate-secret", client_id, "--grace", "soon")

    assert exited.value.code == 2
    assert "--grace='soon' is not a duration" in capsys.readouterr().err


def test_rotate_secret_says_until_when_the_old_secret_works(run: Run) -> None:
    client_id = _service(run)["client_id"]

    result = run("clients", "rotate-secret", client_id, "--grace", "1h")

    shown = run("clients", "show", client_id, "--json").json()
    until = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(shown["previous_secret_expires_at"]))
    assert result.code == 0
    assert result.out.splitlines()[-1] == (
        f"(the secret is shown once; the old secret works until {until} UTC, then only the new one)"
    )
