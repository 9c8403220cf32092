"""Scope parsing and policy (RFC 6749 §3.3): what a client may ask for and what it gets."""

from __future__ import annotations

import re

from authority.errors import InvalidScopeError
from authority.settings import ConfigError

_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+\Z")  # \Z: "$" allows a final \n
# The OIDC Core §5.4 scopes this server gives a meaning to: an id_token for ``openid``, the
# claims ``tokens.user_claims`` releases for the others. ``offline_access`` is not one: a
# client gets refresh tokens by its grant types, whatever the scope.
STANDARD = ("openid", "profile", "email")
# The admin API's scope (/admin/...): held only by a client created with `clients create
# --admin` (authority.admin.access), which gets it by the client_credentials grant.
ADMIN = "authority:admin"


def parse(raw: str | None) -> tuple[str, ...] | None:
    """Split a scope parameter; None when absent. Order is kept, duplicates dropped."""
    if raw is None:
        return None
    tokens = raw.split(" ")
    if any(not _SCOPE_TOKEN.match(token) for token in tokens):
        raise InvalidScopeError("scope must be space-separated tokens of printable ASCII")
    return tuple(dict.fromkeys(tokens))


def check_syntax(tokens: list[str] | tuple[str, ...]) -> None:
    for token in tokens:
        if not _SCOPE_TOKEN.match(token):
            raise ValueError(f"{token!r} is not a valid scope token")


def grant(
    requested: tuple[str, ...] | None, allowed: tuple[str, ...], default: tuple[str, ...]
) -> tuple[str, ...]:
    """The scope to grant: the client's default when none is asked, else a subset of allowed."""
    if requested is None:
        return default
    refused = [s for s in requested if s not in allowed]
    if refused:
        raise InvalidScopeError(f"scope not allowed for this client: {' '.join(refused)}")
    return requested


def narrow(requested: tuple[str, ...] | None, granted: tuple[str, ...]) -> tuple[str, ...]:
    """RFC 6749 §6: a refresh may ask for less than was granted, never more."""
    if requested is None:
        return granted
    extra = [s for s in requested if s not in granted]
    if extra:
        raise InvalidScopeError(f"scope exceeds what was originally granted: {' '.join(extra)}")
    return requested


def published(operator_list: str) -> tuple[str, ...]:
    """``scopes_supported`` of discovery (RFC 8414 §2): the standard scopes and the ones the
    operator names in AUTHORITY_PUBLIC_SCOPES, never the clients' own, which would tell
    anyone what every other team's API accepts."""
    names = operator_list.split()
    for name in names:
        if not _SCOPE_TOKEN.match(name):
            raise ConfigError(
                f"AUTHORITY_PUBLIC_SCOPES: {name!r} is not a scope (printable ASCII, no quote "
                "or backslash)"
            )
    return tuple(dict.fromkeys((*STANDARD, *names)))
