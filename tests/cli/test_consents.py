"""`authority users consents`: the clients a user approved, and withdrawing an approval."""

from __future__ import annotations

from typing import Any

from authority.storage import Consent
from authority.storage.sql import SqlStorage
from tests.cli.support import Run, assert_failed

PASSWORD = "long enough password"


def _client(run: Run, name: str) -> str:
    created = run(
        "clients", "create", name, "--grant", "authorization_code", "--scope", "openid profile",
        "--redirect-uri", f"https://{name}.example/cb", "--consent", "--json",
    ).json()  # fmt: skip
    return str(created["client_id"])


def _user(run: Run, username: str = "alice") -> str:
    created = run(
        "users", "create", username, "--password-stdin", "--json", stdin=PASSWORD + "\n"
    ).json()
    return str(created["sub"])


def _approve(database_url: str, sub: str, client_id: str, scopes: str, at: int) -> None:
    storage = SqlStorage.from_url(database_url)
    try:
        storage.grant_consent(Consent(sub, client_id, tuple(scopes.split()), at))
    finally:
        storage.close()


def _consents(run: Run, username: str = "alice") -> list[dict[str, Any]]:
    listed = run("users", "consents", username, "--json").json()
    assert list(listed) == ["consents"]
    consents = listed["consents"]
    assert isinstance(consents, list)
    return consents


# -- refused -------------------------------------------------------------------------------


def test_consents_of_an_unknown_user_fail(run: Run) -> None:
    assert_failed(run("users", "consents", "nobody", "--json"), "no user 'nobody'")


def test_withdrawing_a_consent_the_user_never_gave_says_so(run: Run, database_url: str) -> None:
    sub = _user(run)
    shop, other = _client(run, "shop"), _client(run, "other")
    _approve(database_url, sub, shop, "openid", 1_700_000_000)

    result = run("users", "consents", "alice", "--withdraw", other, "--json")

    assert result.err == f"authority: alice has no remembered consent for client {other!r}\n"
    assert_failed(result)
    assert [c["client_id"] for c in _consents(run)] == [shop]


def test_another_users_consent_cannot_be_withdrawn_through_alice(
    run: Run, database_url: str
) -> None:
    _user(run)
    bob = _user(run, "bob")
    shop = _client(run, "shop")
    _approve(database_url, bob, shop, "openid", 1_700_000_000)

    assert_failed(run("users", "consents", "alice", "--withdraw", shop, "--json"), "no remembered")
    assert len(_consents(run, "bob")) == 1


# -- list, withdraw ------------------------------------------------------------------------


def test_a_user_without_consents_lists_none(run: Run) -> None:
    _user(run)

    assert _consents(run) == []
    assert run("users", "consents", "alice").out == "(none)\n"


def test_consents_list_each_client_with_its_name_scopes_and_time_newest_first(
    run: Run, database_url: str
) -> None:
    sub = _user(run)
    shop, news = _client(run, "shop"), _client(run, "news")
    _approve(database_url, sub, shop, "openid profile", 1_700_000_000)
    _approve(database_url, sub, news, "openid", 1_700_000_500)

    assert _consents(run) == [
        {
            "client_id": news,
            "client_name": "news",
            "scopes": ["openid"],
            "granted_at": 1_700_000_500,
        },
        {
            "client_id": shop,
            "client_name": "shop",
            "scopes": ["openid", "profile"],
            "granted_at": 1_700_000_000,
        },
    ]


def test_consents_for_humans_show_a_table(run: Run, database_url: str) -> None:
    sub = _user(run)
    shop = _client(run, "shop")
    _approve(database_url, sub, shop, "openid profile", 1_700_000_000)

    lines = run("users", "consents", "alice").out.splitlines()

    assert lines[0].split() == ["client_id", "client_name", "scopes", "granted_at"]
    assert lines[1].split() == [shop, "shop", "openid", "profile", "2023-11-14", "22:13:20"]


def test_withdraw_forgets_one_consent_and_keeps_the_others(run: Run, database_url: str) -> None:
    sub = _user(run)
    shop, news = _client(run, "shop"), _client(run, "news")
    _approve(database_url, sub, shop, "openid", 1_700_000_000)
    _approve(database_url, sub, news, "openid", 1_700_000_500)

    withdrawn = run("users", "consents", "alice", "--withdraw", shop, "--json").json()

    assert withdrawn == {"username": "alice", "client_id": shop, "withdrawn": True}
    assert [c["client_id"] for c in _consents(run)] == [news]
    assert_failed(run("users", "consents", "alice", "--withdraw", shop), "no remembered")


def test_withdraw_for_humans_says_what_was_withdrawn(run: Run, database_url: str) -> None:
    sub = _user(run)
    shop = _client(run, "shop")
    _approve(database_url, sub, shop, "openid", 1_700_000_000)

    result = run("users", "consents", "alice", "--withdraw", shop)

    assert (result.code, result.err) == (0, "")
    assert result.out == f"alice's consent for client {shop} withdrawn\n"
