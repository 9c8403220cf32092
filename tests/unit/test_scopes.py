"""Scope parsing and policy (RFC 6749 §3.3, §6)."""

from __future__ import annotations

import pytest

from authority.errors import InvalidScopeError
from authority.oauth import scopes

ALLOWED = ("read", "write", "admin")


# -- parse ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "",  # present but empty
        "read  write",  # two spaces make an empty token
        " read",
        "read ",
        "read\twrite",
        "read\nwrite",
        "read\n",  # a final newline is not part of a token either
        'say"hi"',
        "back\\slash",
        "caf\u00e9",
        "read\x00",
    ],
)
def test_parse_refuses_malformed_scope(raw: str) -> None:
    with pytest.raises(InvalidScopeError) as caught:
        scopes.parse(raw)

    assert caught.value.error == "invalid_scope"


def test_parse_returns_none_when_absent() -> None:
    assert scopes.parse(None) is None


def test_parse_keeps_order_and_drops_duplicates() -> None:
    assert scopes.parse("write read write admin read") == ("write", "read", "admin")


def test_parse_accepts_every_allowed_character() -> None:
    token = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\')

    assert scopes.parse(f"{token} invoices:read https://api.example/x") == (
        token,
        "invoices:read",
        "https://api.example/x",
    )


# -- check_syntax (operator input) ---------------------------------------------------------


@pytest.mark.parametrize("token", ["", "two words", 'q"uote', "tab\t", "\u00fcber", "read\n"])
def test_check_syntax_refuses_bad_tokens_naming_them(token: str) -> None:
    with pytest.raises(ValueError, match="is not a valid scope token"):
        scopes.check_syntax(["read", token])


def test_check_syntax_accepts_good_tokens_and_nothing() -> None:
    scopes.check_syntax(["read", "invoices:write"])
    scopes.check_syntax([])


# -- grant ---------------------------------------------------------------------------------


def test_grant_refuses_a_scope_the_client_may_not_have_naming_it() -> None:
    with pytest.raises(InvalidScopeError, match="delete"):
        scopes.grant(("read", "delete"), ALLOWED, ("read",))


def test_grant_refuses_anything_when_the_client_has_no_scopes() -> None:
    with pytest.raises(InvalidScopeError):
        scopes.grant(("read",), (), ())


def test_grant_gives_the_default_when_nothing_is_asked() -> None:
    assert scopes.grant(None, ALLOWED, ("read",)) == ("read",)


def test_grant_gives_exactly_the_allowed_subset_asked_for() -> None:
    assert scopes.grant(("admin", "read"), ALLOWED, ("read",)) == ("admin", "read")


# -- narrow --------------------------------------------------------------------------------


def test_narrow_refuses_more_than_was_granted_naming_the_extra() -> None:
    with pytest.raises(InvalidScopeError, match="admin"):
        scopes.narrow(("read", "admin"), ("read", "write"))


def test_narrow_keeps_the_grant_when_nothing_is_asked() -> None:
    assert scopes.narrow(None, ("read", "write")) == ("read", "write")


def test_narrow_gives_a_subset_of_the_grant() -> None:
    assert scopes.narrow(("write",), ("read", "write")) == ("write",)
