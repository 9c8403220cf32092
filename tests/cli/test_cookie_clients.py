"""`authority clients create|update|show|list` for cookie mode and browser origins:
--refresh-cookie, --no-refresh-cookie, --allowed-origin, --remove-allowed-origin."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cli.support import Run, assert_failed
from tests.cli.test_browser_clients import _stored_clients

SPA = "http://localhost:5173"
APP = "https://app.example"
SPA_CLIENT = (
    "clients", "create", "spa", "--grant", "password", "--grant", "refresh_token",
    "--scope", "read", "--public", "--refresh-cookie",
)  # fmt: skip
CODE_CLIENT = (
    "clients", "create", "web", "--grant", "authorization_code", "--scope", "openid",
    "--redirect-uri", "https://app.example/callback", "--public",
)  # fmt: skip
NOT_AN_ORIGIN = "is not an origin: scheme://host[:port], with no path, query or user name"
LENGTH = "an origin holds 1 to 300 characters"
NOT_SECURE = "an origin must be https, or http on a loopback host (127.0.0.1, [::1], localhost)"
NEEDS_ORIGIN = (
    "authority: --refresh-cookie needs at least one --allowed-origin: the origin of the pages "
    "that may use the cookie\n"
)
PUBLIC_PASSWORD = (
    "authority: a public client (--public) has no secret to authenticate with, so it may use "
    "only the authorization_code and refresh_token grants, not password (the password grant "
    "only with --refresh-cookie: a first-party single-page app)\n"
)


def _spa(run: Run, *origins: str) -> dict[str, Any]:
    flags = [f for o in origins or (SPA,) for f in ("--allowed-origin", o)]
    return run(*SPA_CLIENT, *flags, "--json").json()


def _update(run: Run, client_id: str, *flags: str) -> dict[str, Any]:
    return run("clients", "update", client_id, *flags, "--json").json()


def _show(run: Run, client_id: str) -> dict[str, Any]:
    return run("clients", "show", client_id, "--json").json()


# -- create: refused -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "reason"),
    [
        ("https://app.example/app", NOT_AN_ORIGIN),
        ("https://app.example/app/", NOT_AN_ORIGIN),
        ("https://app.example?x=1", NOT_AN_ORIGIN),
        ("https://app.example#top", NOT_AN_ORIGIN),
        ("https://user@app.example", NOT_AN_ORIGIN),
        ("https://", NOT_AN_ORIGIN),
        ("app.example", NOT_AN_ORIGIN),
        ("http://app.example", NOT_SECURE),
        ("http://localhost.evil.example", NOT_SECURE),
        ("ftp://app.example", "is not an http or https origin"),
        ("https://app.example:99999", "is not a valid origin"),
        ("", LENGTH),
        ("https://" + "a" * 300 + ".example", LENGTH),
    ],
)
def test_create_refuses_what_is_not_a_browser_origin(
    run: Run, database_url: str, origin: str, reason: str
) -> None:
    result = run(*SPA_CLIENT, "--allowed-origin", SPA, "--allowed-origin", origin, "--json")

    assert_failed(result, "--allowed-origin", reason)
    if reason != LENGTH:  # too long to quote
        assert repr(origin) in result.err
    assert _stored_clients(database_url) == []


def test_cookie_mode_needs_the_refresh_token_grant(run: Run, database_url: str) -> None:
    result = run(
        "clients", "create", "spa", "--grant", "password", "--refresh-cookie",
        "--allowed-origin", APP, "--json",
    )  # fmt: skip

    assert result.err == (
        "authority: --refresh-cookie carries the refresh token, which this client never gets: "
        "add --grant refresh_token\n"
    )
    assert_failed(result)
    assert _stored_clients(database_url) == []


def test_cookie_mode_needs_an_allowed_origin(run: Run, database_url: str) -> None:
    result = run(*SPA_CLIENT, "--json")

    assert result.err == NEEDS_ORIGIN
    assert_failed(result)
    assert _stored_clients(database_url) == []


def test_a_public_client_uses_the_password_grant_only_in_cookie_mode(
    run: Run, database_url: str
) -> None:
    without_cookie = [a for a in SPA_CLIENT if a != "--refresh-cookie"]
    result = run(*without_cookie, "--allowed-origin", SPA, "--json")

    assert result.err == PUBLIC_PASSWORD
    assert_failed(result)
    assert _stored_clients(database_url) == []


# -- create ------------------------------------------------------------------------------------


def test_create_registers_a_public_cookie_mode_single_page_app(run: Run, database_url: str) -> None:
    created = _spa(run)

    assert "client_secret" not in created
    assert {k: created[k] for k in ("public", "refresh_cookie", "allowed_origins")} == {
        "public": True,
        "refresh_cookie": True,
        "allowed_origins": [SPA],
    }
    assert created["token_endpoint_auth_method"] == "none"
    assert created["grant_types"] == ["password", "refresh_token"]
    (row,) = _stored_clients(database_url)
    assert (row["refresh_cookie"], row["allowed_origins"]) == (True, SPA)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("HTTPS://App.Example:443/", APP),
        ("https://app.example:443", APP),
        ("https://APP.example:8443", "https://app.example:8443"),
        ("http://localhost:80", "http://localhost"),
        ("HTTP://LOCALHOST:5173/", SPA),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://[::1]:3000", "http://[::1]:3000"),
    ],
)
def test_an_origin_is_stored_as_a_browser_sends_it(run: Run, given: str, stored: str) -> None:
    assert _spa(run, given)["allowed_origins"] == [stored]


def test_an_origin_given_twice_in_two_spellings_is_stored_once(run: Run) -> None:
    created = _spa(run, APP, "HTTPS://APP.EXAMPLE:443", SPA)

    assert created["allowed_origins"] == [APP, SPA]


def test_a_confidential_client_may_use_cookie_mode_with_its_secret(run: Run) -> None:
    confidential = [a for a in SPA_CLIENT if a != "--public"]
    created = run(*confidential, "--allowed-origin", APP, "--json").json()

    assert isinstance(created["client_secret"], str)
    assert (created["refresh_cookie"], created["token_endpoint_auth_method"]) == (
        True,
        "client_secret_basic",
    )


def test_allowed_origins_without_cookie_mode_are_for_cors_only(run: Run) -> None:
    created = run(*CODE_CLIENT, "--allowed-origin", APP, "--json").json()

    assert (created["refresh_cookie"], created["allowed_origins"]) == (False, [APP])


# -- show, list ------------------------------------------------------------------------------


def test_show_and_list_carry_cookie_mode_and_the_origins(run: Run) -> None:
    created = _spa(run, SPA, APP)
    plain = run("clients", "create", "api", "--grant", "client_credentials", "--json").json()

    shown = _show(run, str(created["client_id"]))
    listed = {c["client_id"]: c for c in run("clients", "list", "--json").json()["clients"]}

    assert shown == created
    assert listed[created["client_id"]] == created
    assert (shown["refresh_cookie"], shown["allowed_origins"]) == (True, [SPA, APP])
    plain_listed = listed[plain["client_id"]]
    assert (plain_listed["refresh_cookie"], plain_listed["allowed_origins"]) == (False, [])


def test_show_for_humans_gives_cookie_mode_and_the_origins(run: Run) -> None:
    client_id = str(_spa(run)["client_id"])

    out = run("clients", "show", client_id).out.splitlines()

    assert "refresh_cookie: True" in out
    assert f"allowed_origins: {SPA}" in out


# -- update: refused -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--no-refresh-cookie",), PUBLIC_PASSWORD),
        (("--remove-allowed-origin", SPA), NEEDS_ORIGIN),
        (
            ("--remove-allowed-origin", APP),
            f"authority: --remove-allowed-origin: {APP!r} is not registered for this client\n",
        ),
        (
            ("--allowed-origin", "https://App.example", "--remove-allowed-origin", APP),
            f"authority: --allowed-origin and --remove-allowed-origin both name {APP!r}\n",
        ),
        (
            ("--allowed-origin", "http://app.example"),
            f"authority: --allowed-origin: 'http://app.example': {NOT_SECURE}\n",
        ),
        (
            ("--remove-allowed-origin", "https://app.example/x"),
            "authority: --remove-allowed-origin: 'https://app.example/x' "
            f"{NOT_AN_ORIGIN} (e.g. https://app.example)\n",
        ),
    ],
)
def test_update_refuses_what_would_break_cookie_mode_and_changes_nothing(
    run: Run, flags: tuple[str, ...], message: str
) -> None:
    client_id = str(_spa(run)["client_id"])
    before = _show(run, client_id)

    result = run("clients", "update", client_id, *flags, "--json")

    assert result.err == message
    assert_failed(result)
    assert _show(run, client_id) == before


def test_update_refuses_cookie_mode_for_a_client_without_the_refresh_token_grant(
    run: Run,
) -> None:
    api = run(
        "clients", "create", "api", "--grant", "password", "--scope", "read", "--json"
    ).json()  # fmt: skip
    client_id = str(api["client_id"])

    result = run("clients", "update", client_id, "--refresh-cookie", "--allowed-origin", APP)

    assert_failed(result, "--refresh-cookie carries the refresh token", "--grant refresh_token")
    assert _show(run, client_id)["allowed_origins"] == []


def test_refresh_cookie_and_no_refresh_cookie_cannot_be_given_together(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    client_id = str(_spa(run)["client_id"])

    with pytest.raises(SystemExit) as exited:
        run("clients", "update", client_id, "--refresh-cookie", "--no-refresh-cookie")

    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


# -- update ------------------------------------------------------------------------------------


def test_update_adds_and_removes_origins_in_their_canonical_form(run: Run) -> None:
    client_id = str(_spa(run)["client_id"])

    added = _update(
        run, client_id, "--allowed-origin", "HTTPS://App.Example:443/",
        "--add-allowed-origin", "https://b.example",
    )  # fmt: skip
    again = _update(run, client_id, "--allowed-origin", APP)
    removed = _update(run, client_id, "--remove-allowed-origin", "HTTP://LOCALHOST:5173/")

    assert added["allowed_origins"] == [SPA, APP, "https://b.example"]
    assert again == added
    assert removed["allowed_origins"] == [APP, "https://b.example"]
    assert _show(run, client_id) == removed


def test_update_turns_cookie_mode_on_and_off(run: Run) -> None:
    created = run(
        *[a for a in SPA_CLIENT if a not in ("--public", "--refresh-cookie")], "--json"
    ).json()
    client_id = str(created["client_id"])
    assert (created["refresh_cookie"], created["allowed_origins"]) == (False, [])

    on = _update(run, client_id, "--refresh-cookie", "--allowed-origin", APP)
    kept = _update(run, client_id, "--allowed-origin", SPA)
    off = _update(run, client_id, "--no-refresh-cookie")

    assert (on["refresh_cookie"], on["allowed_origins"]) == (True, [APP])
    assert kept["refresh_cookie"] is True
    # Off: the origins stay, for CORS without credentials.
    assert (off["refresh_cookie"], off["allowed_origins"]) == (False, [APP, SPA])
    assert _show(run, client_id) == off
