"""`authority clients create|show|list|update` for clients that sign users in in a browser."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from authority.storage.sql import SqlStorage
from authority.storage.tables import clients
from tests.cli.support import Run, assert_failed

WEB = "https://app.example/callback"
WEB_LOGOUT = "https://app.example/signed-out"
NATIVE = "com.example.app:/callback"
LOOPBACK = "http://127.0.0.1/callback"
CODE = ("clients", "create", "web", "--grant", "authorization_code")
SCOPE = ("--scope", "openid profile email")


def _create(run: Run, *extra: str) -> dict[str, Any]:
    return run(*CODE, *SCOPE, *extra, "--json").json()


def _web(run: Run, *extra: str) -> str:
    """A confidential browser client registered with ``WEB``; its client_id."""
    return str(_create(run, "--redirect-uri", WEB, *extra)["client_id"])


def _update(run: Run, client_id: str, *flags: str) -> dict[str, Any]:
    return run("clients", "update", client_id, *flags, "--json").json()


def _stored_clients(database_url: str) -> list[dict[str, object]]:
    storage = SqlStorage.from_url(database_url)
    try:
        with storage.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(select(clients))]
    finally:
        storage.close()


# -- create: refused -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("http://app.example/callback", ("must be https", "loopback")),
        ("https://app.example/callback#top", ("no fragment",)),
        ("https://user:pw@app.example/callback", ("no user name or password",)),
        ("/callback", ("not absolute",)),
        ("javascript:alert(1)", ("scheme 'javascript' is not allowed",)),
        (NATIVE, ("only a public client (--public)", "private-use scheme")),
        ("https://app.example/a b", ("no spaces",)),
    ],
)
def test_create_refuses_a_redirect_uri_a_client_may_not_register(
    run: Run, database_url: str, uri: str, words: tuple[str, ...]
) -> None:
    result = run(*CODE, *SCOPE, "--redirect-uri", WEB, "--redirect-uri", uri, "--json")

    assert_failed(result, "--redirect-uri", *words)
    assert _stored_clients(database_url) == []


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("http://app.example/bye", ("must be https",)),
        ("https://app.example/bye#top", ("no fragment",)),
        ("bye", ("not absolute",)),
    ],
)
def test_create_refuses_a_post_logout_redirect_uri_a_client_may_not_register(
    run: Run, database_url: str, uri: str, words: tuple[str, ...]
) -> None:
    result = run(*CODE, *SCOPE, "--redirect-uri", WEB, "--post-logout-redirect-uri", uri, "--json")

    assert_failed(result, "--post-logout-redirect-uri", *words)
    assert _stored_clients(database_url) == []


def test_a_refusal_quotes_the_uri_it_refuses(run: Run) -> None:
    result = run(*CODE, *SCOPE, "--redirect-uri", "http://app.example/cb", "--json")

    assert result.err == (
        "authority: --redirect-uri 'http://app.example/cb': a redirect URI must be https, "
        "or http on a loopback host (127.0.0.1, [::1], localhost)\n"
    )


def test_the_authorization_code_grant_needs_a_redirect_uri(run: Run, database_url: str) -> None:
    assert_failed(
        run(*CODE, *SCOPE, "--json"),
        "the authorization_code grant needs at least one --redirect-uri",
    )
    assert _stored_clients(database_url) == []


@pytest.mark.parametrize(
    ("extra", "flag"),
    [
        (("--redirect-uri", WEB), "--redirect-uri"),
        (("--post-logout-redirect-uri", WEB_LOGOUT), "--post-logout-redirect-uri"),
        (("--consent",), "--consent"),
    ],
)
def test_browser_sign_in_settings_without_the_authorization_code_grant_are_refused(
    run: Run, database_url: str, extra: tuple[str, ...], flag: str
) -> None:
    result = run("clients", "create", "api", "--grant", "client_credentials", *extra, "--json")

    assert result.err == (
        f"authority: {flag} is for browser sign-in, which this client does not use: "
        "it needs --grant authorization_code\n"
    )
    assert_failed(result)
    assert _stored_clients(database_url) == []


@pytest.mark.parametrize("grant", ["client_credentials", "password"])
def test_a_public_client_may_not_use_a_grant_that_needs_a_secret(
    run: Run, database_url: str, grant: str
) -> None:
    result = run(*CODE, *SCOPE, "--grant", grant, "--redirect-uri", NATIVE, "--public", "--json")

    cookie_only = (
        " (the password grant only with --refresh-cookie: a first-party single-page app)"
        if grant == "password"
        else ""
    )
    assert result.err == (
        "authority: a public client (--public) has no secret to authenticate with, so it may "
        f"use only the authorization_code and refresh_token grants, not {grant}{cookie_only}\n"
    )
    assert_failed(result)
    assert _stored_clients(database_url) == []


def test_a_public_client_needs_the_authorization_code_grant(run: Run) -> None:
    result = run("clients", "create", "spa", "--grant", "refresh_token", "--public", "--json")

    assert_failed(result, "a public client (--public) signs users in", "authorization_code")


# -- create --------------------------------------------------------------------------------


def test_create_prints_a_confidential_browser_client_with_its_secret(run: Run) -> None:
    created = run(
        *CODE, "--grant", "refresh_token", *SCOPE,
        "--redirect-uri", WEB, "--redirect-uri", LOOPBACK,
        "--post-logout-redirect-uri", WEB_LOGOUT,
        "--audience", "https://api.example",
        "--json",
    ).json()  # fmt: skip

    secret = created.pop("client_secret")
    assert isinstance(secret, str) and len(secret) >= 43
    assert isinstance(created.pop("client_id"), str)
    assert isinstance(created.pop("created_at"), int)
    assert created == {
        "name": "web",
        "grant_types": ["authorization_code", "refresh_token"],
        "scopes": ["openid", "profile", "email"],
        "default_scopes": ["openid", "profile", "email"],
        "audiences": ["https://api.example"],
        "disabled": False,
        "access_token_alg": None,
        "resource_servers": [],
        "introspect_any": False,
        "redirect_uris": [WEB, LOOPBACK],
        "post_logout_redirect_uris": [WEB_LOGOUT],
        "public": False,
        "consent": False,
        "refresh_cookie": False,
        "allowed_origins": [],
        "previous_secret_expires_at": None,
        "token_endpoint_auth_method": "client_secret_basic",
    }


def test_a_public_client_gets_no_secret_and_authenticates_with_none(
    run: Run, database_url: str
) -> None:
    created = _create(run, "--grant", "refresh_token", "--redirect-uri", NATIVE, "--public")

    assert "client_secret" not in created
    assert created["public"] is True
    assert created["token_endpoint_auth_method"] == "none"
    assert created["redirect_uris"] == [NATIVE]
    (row,) = _stored_clients(database_url)
    assert row["secret_hash"] == ""
    assert row["public"] is True


def test_a_public_client_is_told_for_humans_that_it_has_no_secret(run: Run) -> None:
    result = run(*CODE, *SCOPE, "--redirect-uri", LOOPBACK, "--public")

    first, *rest = result.out.splitlines()
    assert first.startswith("client_id: ")
    assert rest == ["(a public client: it has no secret)"]
    assert (result.code, result.err) == (0, "")


def test_consent_marks_a_third_party_client_and_first_party_is_the_default(run: Run) -> None:
    first_party = _create(run, "--redirect-uri", WEB)
    third_party = _create(run, "--redirect-uri", WEB, "--consent")

    assert first_party["consent"] is False
    assert third_party["consent"] is True


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:8400/callback",
        "http://[::1]/callback",
        "http://localhost:3000/cb?x=1",
        "https://app.example:8443/cb?tenant=a",
    ],
)
def test_create_accepts_https_and_loopback_redirect_uris(run: Run, uri: str) -> None:
    assert _create(run, "--redirect-uri", uri)["redirect_uris"] == [uri]


def test_a_uri_given_twice_is_registered_once(run: Run) -> None:
    created = _create(run, "--redirect-uri", WEB, "--redirect-uri", WEB)

    assert created["redirect_uris"] == [WEB]


# -- show, list ----------------------------------------------------------------------------


def test_show_and_list_give_the_browser_sign_in_settings(run: Run) -> None:
    created = _create(
        run, "--redirect-uri", NATIVE, "--post-logout-redirect-uri", NATIVE, "--public",
        "--consent",
    )  # fmt: skip

    shown = run("clients", "show", str(created["client_id"]), "--json").json()
    (listed,) = run("clients", "list", "--json").json()["clients"]

    assert shown == created
    assert listed == created
    assert {k: shown[k] for k in ("redirect_uris", "post_logout_redirect_uris")} == {
        "redirect_uris": [NATIVE],
        "post_logout_redirect_uris": [NATIVE],
    }
    assert (shown["public"], shown["token_endpoint_auth_method"], shown["consent"]) == (
        True,
        "none",
        True,
    )


def test_a_client_without_browser_sign_in_shows_empty_settings(run: Run) -> None:
    created = run("clients", "create", "api", "--grant", "client_credentials", "--json").json()

    shown = run("clients", "show", str(created["client_id"]), "--json").json()

    assert {k: shown[k] for k in ("redirect_uris", "post_logout_redirect_uris")} == {
        "redirect_uris": [],
        "post_logout_redirect_uris": [],
    }
    assert (shown["public"], shown["token_endpoint_auth_method"], shown["consent"]) == (
        False,
        "client_secret_basic",
        False,
    )


def test_show_for_humans_lists_the_redirect_uris(run: Run) -> None:
    client_id = _web(run)

    out = run("clients", "show", client_id).out.splitlines()

    assert f"redirect_uris: {WEB}" in out
    assert "token_endpoint_auth_method: client_secret_basic" in out


# -- update: refused -----------------------------------------------------------------------


def test_update_refuses_an_unknown_client(run: Run) -> None:
    result = run("clients", "update", "no-such-client", "--consent", "--json")

    assert_failed(result, "no client 'no-such-client'")


def test_update_without_a_change_is_refused(run: Run) -> None:
    client_id = _web(run)

    assert_failed(run("clients", "update", client_id, "--json"), "name at least one change")


@pytest.mark.parametrize(
    ("flag", "uri"),
    [("--remove-redirect-uri", LOOPBACK), ("--remove-post-logout-redirect-uri", WEB_LOGOUT)],
)
def test_removing_a_uri_that_is_not_registered_says_so(run: Run, flag: str, uri: str) -> None:
    client_id = _web(run)

    result = run("clients", "update", client_id, flag, uri, "--json")

    assert result.err == f"authority: {flag}: {uri!r} is not registered for this client\n"
    assert_failed(result)


def test_removing_the_last_redirect_uri_of_an_authorization_code_client_is_refused(
    run: Run,
) -> None:
    client_id = _web(run)

    result = run("clients", "update", client_id, "--remove-redirect-uri", WEB, "--json")

    assert_failed(result, "would remove the last redirect URI", "authorization_code")
    shown = run("clients", "show", client_id, "--json").json()
    assert shown["redirect_uris"] == [WEB]


@pytest.mark.parametrize(
    ("flag", "uri", "words"),
    [
        ("--add-redirect-uri", "http://app.example/cb", ("must be https",)),
        ("--add-redirect-uri", "https://app.example/cb#x", ("no fragment",)),
        ("--add-redirect-uri", NATIVE, ("only a public client",)),
        ("--add-post-logout-redirect-uri", "javascript:void(0)", ("not allowed",)),
    ],
)
def test_update_refuses_a_uri_a_client_may_not_register_and_changes_nothing(
    run: Run, flag: str, uri: str, words: tuple[str, ...]
) -> None:
    client_id = _web(run)
    before = run("clients", "show", client_id, "--json").json()

    result = run(
        "clients", "update", client_id, "--add-redirect-uri", LOOPBACK, "--consent", flag, uri,
        "--json",
    )  # fmt: skip

    assert_failed(result, flag, *words)
    assert run("clients", "show", client_id, "--json").json() == before


def test_update_refuses_a_uri_both_added_and_removed(run: Run) -> None:
    client_id = _web(run)

    result = run(
        "clients", "update", client_id, "--add-redirect-uri", WEB, "--remove-redirect-uri", WEB,
        "--json",
    )  # fmt: skip

    assert_failed(result, "--add-redirect-uri and --remove-redirect-uri both name", WEB)


@pytest.mark.parametrize(
    ("flags", "flag"),
    [
        (("--add-redirect-uri", WEB), "--add-redirect-uri"),
        (("--add-post-logout-redirect-uri", WEB_LOGOUT), "--add-post-logout-redirect-uri"),
        (("--consent",), "--consent"),
    ],
)
def test_update_refuses_browser_sign_in_settings_for_a_client_without_the_grant(
    run: Run, flags: tuple[str, ...], flag: str
) -> None:
    api = run("clients", "create", "api", "--grant", "client_credentials", "--json").json()

    result = run("clients", "update", str(api["client_id"]), *flags, "--json")

    assert_failed(result, f"{flag} is for browser sign-in", "--grant authorization_code")


def test_consent_and_no_consent_cannot_be_given_together(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    client_id = _web(run)

    with pytest.raises(SystemExit) as exited:
        run("clients", "update", client_id, "--consent", "--no-consent", "--json")

    assert exited.value.code == 2
    assert "argument --no-consent: not allowed with argument --consent" in capsys.readouterr().err


# -- update --------------------------------------------------------------------------------


def test_update_adds_and_removes_redirect_uris_and_prints_the_client(run: Run) -> None:
    client_id = _web(run)

    added = _update(
        run, client_id, "--add-redirect-uri", LOOPBACK, "--add-redirect-uri", WEB + "/2"
    )
    removed = _update(run, client_id, "--remove-redirect-uri", WEB)

    assert added["redirect_uris"] == [WEB, LOOPBACK, WEB + "/2"]
    assert removed["redirect_uris"] == [LOOPBACK, WEB + "/2"]
    assert run("clients", "show", client_id, "--json").json() == removed


def test_update_prints_the_whole_client_without_its_secret(run: Run) -> None:
    created = _create(run, "--redirect-uri", WEB)

    updated = _update(run, str(created["client_id"]), "--add-redirect-uri", LOOPBACK)

    expected = {k: v for k, v in created.items() if k != "client_secret"}
    assert updated == {**expected, "redirect_uris": [WEB, LOOPBACK]}


def test_adding_a_registered_uri_again_changes_nothing(run: Run) -> None:
    client_id = _web(run, "--post-logout-redirect-uri", WEB_LOGOUT)
    before = run("clients", "show", client_id, "--json").json()

    again = _update(
        run, client_id, "--add-redirect-uri", WEB, "--add-post-logout-redirect-uri", WEB_LOGOUT
    )

    assert again == before


def test_update_adds_and_removes_post_logout_redirect_uris(run: Run) -> None:
    client_id = _web(run)

    added = _update(run, client_id, "--add-post-logout-redirect-uri", WEB_LOGOUT)
    removed = _update(run, client_id, "--remove-post-logout-redirect-uri", WEB_LOGOUT)

    assert added["post_logout_redirect_uris"] == [WEB_LOGOUT]
    assert removed["post_logout_redirect_uris"] == []
    assert removed["redirect_uris"] == [WEB]


def test_update_sets_and_clears_consent_and_keeps_it_otherwise(run: Run) -> None:
    client_id = _web(run)

    assert _update(run, client_id, "--consent")["consent"] is True
    assert _update(run, client_id, "--add-redirect-uri", LOOPBACK)["consent"] is True
    assert _update(run, client_id, "--no-consent")["consent"] is False
    assert run("clients", "show", client_id, "--json").json()["consent"] is False


def test_a_public_client_may_add_a_private_use_scheme_redirect_uri(run: Run) -> None:
    client_id = str(_create(run, "--redirect-uri", LOOPBACK, "--public")["client_id"])

    updated = _update(run, client_id, "--add-redirect-uri", NATIVE)

    assert updated["redirect_uris"] == [LOOPBACK, NATIVE]
    assert updated["token_endpoint_auth_method"] == "none"


def test_update_for_humans_prints_the_client(run: Run) -> None:
    client_id = _web(run)

    result = run("clients", "update", client_id, "--consent")

    assert result.code == 0
    assert f"client_id: {client_id}" in result.out.splitlines()
    assert "consent: True" in result.out.splitlines()
