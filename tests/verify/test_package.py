"""authority.verify as a package: what importing it costs, and its RFC 6750 challenges."""

from __future__ import annotations

import subprocess
import sys

from authority.verify import InsufficientScope, InvalidToken, challenge

SERVER_STACK = ("starlette", "sqlmodel", "sqlalchemy", "uvicorn", "authlib")


def test_importing_the_verifier_loads_no_server_stack() -> None:
    script = (
        "import authority.verify, authority.verify.verifier, authority.verify.jwt, sys; "
        f"print(sorted({{m.partition('.')[0] for m in sys.modules}} & set({SERVER_STACK!r})))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert run.stdout.strip() == "[]"


def test_importing_the_verifier_loads_no_server_module() -> None:
    script = (
        "import authority.verify, sys; "
        "print(sorted(m for m in sys.modules if m.startswith('authority')))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert run.stdout.strip() == str(
        ["authority", "authority.verify", "authority.verify.jwt", "authority.verify.verifier"]
    )


def test_challenges_a_request_without_a_token_with_the_realm_only() -> None:
    assert challenge(None) == 'Bearer realm="api"'
    assert challenge(None, realm="orders") == 'Bearer realm="orders"'


def test_challenges_an_invalid_token_with_its_error_and_description() -> None:
    assert challenge(InvalidToken("the token has expired")) == (
        'Bearer realm="api", error="invalid_token", error_description="the token has expired"'
    )


def test_challenges_a_missing_scope_with_the_scopes_required() -> None:
    assert challenge(InsufficientScope(("read", "write"))) == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="the token lacks the scope: read write", scope="read write"'
    )


def test_names_no_scope_attribute_when_the_required_scope_is_unknown() -> None:
    """RFC 6749 §3.3: a scope value holds at least one scope token; scope="" is not one."""
    assert challenge(InsufficientScope(())) == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="the token lacks the scope: a scope this resource requires"'
    )


def test_keeps_quotes_and_backslashes_out_of_the_quoted_description() -> None:
    error = InvalidToken('a "quoted" word and a \\ backslash')
    assert challenge(error) == (
        'Bearer realm="api", error="invalid_token", '
        "error_description=\"a 'quoted' word and a / backslash\""
    )
