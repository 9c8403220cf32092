"""Loading AUTHORITY_CLAIMS_HOOK: once, at start; a bad one is one line naming the variable."""

from __future__ import annotations

import pytest

from authority.oauth.claims_hook import ClaimsHook, load
from authority.settings import ConfigError


def test_no_hook_is_none() -> None:
    assert load(None) is None
    assert load("") is None


def test_a_hook_is_imported_by_module_and_function() -> None:
    hook = load("tests.claims_hooks:claims")

    assert isinstance(hook, ClaimsHook)
    assert hook.name == "tests.claims_hooks:claims"


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        (
            "tests.claims_hooks",
            "AUTHORITY_CLAIMS_HOOK='tests.claims_hooks' must be module:function",
        ),
        ("tests/claims_hooks.py:claims", "must be module:function"),
        ("tests.claims_hooks:claims()", "must be module:function"),
        (
            "tests.claims_hooks:missing",
            "AUTHORITY_CLAIMS_HOOK='tests.claims_hooks:missing': tests.claims_hooks has no "
            "function 'missing'",
        ),
        ("tests.claims_hooks:not_callable", "tests.claims_hooks has no function 'not_callable'"),
        (
            "tests.claims_hook_broken:claims",
            "AUTHORITY_CLAIMS_HOOK='tests.claims_hook_broken:claims': importing "
            "tests.claims_hook_broken failed: RuntimeError: HOOK_LDAP_URL is not set",
        ),
    ],
)
def test_a_bad_hook_is_one_line_naming_the_variable(spec: str, error: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load(spec)

    message = str(refused.value)
    assert error in message
    assert "\n" not in message
