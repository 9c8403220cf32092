"""Resource indicators (RFC 8707): which audience an access token is for."""

from __future__ import annotations

from urllib.parse import urlsplit

from authority.errors import InvalidTarget, quoted


def is_resource_uri(value: str) -> bool:
    """RFC 8707 §2: an absolute URI with no fragment."""
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unclosed IPv6 literal: "https://[::1"
        return False
    return bool(parts.scheme and (parts.netloc or parts.path)) and "#" not in value


def requested(requested: list[str], allowed: tuple[str, ...], issuer: str) -> tuple[str, ...]:
    """The ``aud`` of a token: the resources asked for, else the client's default audience.

    A client with no audience configured gets tokens for the authority itself (``aud`` =
    issuer), which its own endpoints accept.
    """
    if not requested:
        return allowed[:1] or (issuer,)
    for resource in requested:
        if not is_resource_uri(resource):
            raise InvalidTarget(
                f"resource must be an absolute URI without a fragment: {quoted(resource)}"
            )
        # Every client may ask for the authority itself (its /sessions endpoints).
        if resource not in allowed and resource != issuer:
            raise InvalidTarget(f"this client may not request tokens for {quoted(resource)}")
    return tuple(dict.fromkeys(requested))


def narrow(requested: list[str], granted: tuple[str, ...]) -> tuple[str, ...]:
    """RFC 8707 §2.2: a refresh may ask for fewer of the resources granted, never another
    (as ``scopes.narrow`` for scope)."""
    if not requested:
        return granted
    extra = [r for r in requested if r not in granted]
    if extra:
        raise InvalidTarget(
            f"resource was not part of the original grant: {quoted(' '.join(extra))}"
        )
    return tuple(dict.fromkeys(requested))


def of_login(
    requested_: list[str], allowed: tuple[str, ...], scope: tuple[str, ...], issuer: str
) -> tuple[str, ...]:
    """The ``aud`` of a user's login (the password grant, an authorization code): as
    ``requested``, and with ``openid`` the authority too, so the access token is also good
    at its own /userinfo."""
    audience = requested(requested_, allowed, issuer)
    if "openid" in scope and issuer not in audience:
        audience = (*audience, issuer)
    return audience
