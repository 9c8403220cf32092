"""Grants, one module each, and the registry that dispatches ``grant_type`` to them."""

from __future__ import annotations

from authority.errors import UnauthorizedClientError, UnsupportedGrantTypeError, quoted
from authority.oauth.grants.authorization_code import AuthorizationCodeGrant
from authority.oauth.grants.base import Grant, GrantContext, TokenRequest, TokenResponse
from authority.oauth.grants.client_credentials import ClientCredentialsGrant
from authority.oauth.grants.password import PasswordGrant
from authority.oauth.grants.refresh_token import RefreshTokenGrant
from authority.storage import Client

__all__ = [
    "PUBLIC_GRANT_TYPES",
    "Grant",
    "GrantContext",
    "GrantRegistry",
    "TokenRequest",
    "TokenResponse",
    "public_grant_types",
]

GRANT_CLASSES = (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    PasswordGrant,
    RefreshTokenGrant,
)
# What a public client (no secret, RFC 6749 §2.1) may use: it proves nothing by itself, so
# only grants bound to a user's sign-in, never client_credentials or password.
PUBLIC_GRANT_TYPES = (AuthorizationCodeGrant.grant_type, RefreshTokenGrant.grant_type)
# A first-party single-page app in cookie mode has no secret either, yet signs its users in on
# its own form (RFC 6749 §4.3 allows the password grant to a public client): the password is
# the proof, throttled per user and address, and its refresh token never reaches JavaScript.
COOKIE_PUBLIC_GRANT_TYPES = (*PUBLIC_GRANT_TYPES, PasswordGrant.grant_type)
GRANT_TYPES = tuple(g.grant_type for g in GRANT_CLASSES)


def public_grant_types(client: Client) -> tuple[str, ...]:
    """The grants a public client may use: its refresh token in a cookie adds the password
    grant (a first-party single-page app)."""
    return COOKIE_PUBLIC_GRANT_TYPES if client.refresh_cookie else PUBLIC_GRANT_TYPES


class GrantRegistry:
    """Owns unsupported_grant_type and unauthorized_client, so no grant repeats them."""

    def __init__(self, context: GrantContext) -> None:
        self._grants: dict[str, Grant] = {cls.grant_type: cls(context) for cls in GRANT_CLASSES}

    @property
    def grant_types(self) -> list[str]:
        return list(self._grants)

    def get(self, grant_type: str) -> Grant:
        grant = self._grants.get(grant_type)
        if grant is None:
            raise UnsupportedGrantTypeError(f"unsupported grant_type: {quoted(grant_type)}")
        return grant

    @staticmethod
    def check_allowed(grant: Grant, client: Client) -> None:
        if grant.grant_type not in client.grant_types or (
            client.public and grant.grant_type not in public_grant_types(client)
        ):
            raise UnauthorizedClientError(f"this client may not use the {grant.grant_type} grant")
