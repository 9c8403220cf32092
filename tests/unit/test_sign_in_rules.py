"""How a client's browser sign-in settings must fit its grants (authority.admin.sign_in)."""

from __future__ import annotations

import pytest

from authority.admin.errors import AdminError
from authority.admin.sign_in import CREATE_FLAGS, UPDATE_FLAGS, edited_uris, sign_in_problem
from authority.storage import Client

A, B, C = "https://a.example/cb", "https://b.example/cb", "https://c.example/cb"


def _client(
    *grants: str,
    redirect_uris: tuple[str, ...] = (),
    post_logout_redirect_uris: tuple[str, ...] = (),
    public: bool = False,
    consent: bool = False,
) -> Client:
    return Client(
        "id", "web", "hash", grants, ("openid",), ("openid",), (), False, 0,
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=post_logout_redirect_uris,
        public=public,
        consent=consent,
    )  # fmt: skip


# -- refused -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "words"),
    [
        (_client("authorization_code"), "needs at least one --redirect-uri"),
        (
            _client("authorization_code", "password", public=True, redirect_uris=(A,)),
            "not password",
        ),
        (_client("refresh_token", public=True), "add --grant authorization_code"),
        (_client("client_credentials", redirect_uris=(A,)), "--redirect-uri is for browser"),
        (_client("password", post_logout_redirect_uris=(A,)), "--post-logout-redirect-uri is"),
        (_client("password", consent=True), "--consent is for browser sign-in"),
    ],
)
def test_settings_that_do_not_fit_the_grants_are_refused(client: Client, words: str) -> None:
    problem = sign_in_problem(client, CREATE_FLAGS)

    assert problem is not None and words in problem


def test_the_refusal_names_the_flag_of_the_command_used() -> None:
    client = _client("client_credentials", redirect_uris=(A,))

    problem = sign_in_problem(client, UPDATE_FLAGS)

    assert problem is not None and problem.startswith("--add-redirect-uri is for browser sign-in")


def test_removing_a_uri_that_is_not_registered_is_refused() -> None:
    with pytest.raises(AdminError) as refused:
        edited_uris("redirect-uri", (A, B), (), (C,), public=False)

    assert str(refused.value) == (
        "--remove-redirect-uri: 'https://c.example/cb' is not registered for this client"
    )


def test_a_uri_both_added_and_removed_is_refused() -> None:
    with pytest.raises(AdminError) as refused:
        edited_uris("post-logout-redirect-uri", (A,), (A,), (A,), public=False)

    assert str(refused.value) == (
        "--add-post-logout-redirect-uri and --remove-post-logout-redirect-uri both name "
        "'https://a.example/cb'"
    )


def test_an_added_uri_follows_the_registration_rule_for_the_kind_of_client() -> None:
    with pytest.raises(AdminError) as refused:
        edited_uris("redirect-uri", (A,), ("com.example.app:/cb",), (), public=False)

    assert str(refused.value) == (
        "--add-redirect-uri 'com.example.app:/cb': only a public client (--public) may use a "
        "private-use scheme redirect URI"
    )

    assert edited_uris("redirect-uri", (A,), ("com.example.app:/cb",), (), public=True) == (
        A,
        "com.example.app:/cb",
    )


# -- allowed -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "client",
    [
        _client("client_credentials"),
        _client("password", "refresh_token"),
        _client("authorization_code", redirect_uris=(A,)),
        _client("authorization_code", "refresh_token", public=True, redirect_uris=(A,)),
        _client("authorization_code", "password", redirect_uris=(A,), consent=True),
    ],
)
def test_settings_that_fit_the_grants_are_allowed(client: Client) -> None:
    assert sign_in_problem(client, CREATE_FLAGS) is None


def test_edits_keep_the_order_add_at_the_end_once_and_remove() -> None:
    assert edited_uris("redirect-uri", (A, B), (C, A, C), (B,), public=False) == (A, C)
