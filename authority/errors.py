"""OAuth errors carry their wire form: error code, description, HTTP status, extra headers.

The classes are authlib's RFC 6749 §5.2 errors; the one renderer is ``authority.web.http``.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    UnauthorizedClientError,
)

__all__ = [
    "BasicInvalidClient",
    "InsufficientScope",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidLink",
    "InvalidPassword",
    "InvalidRequestError",
    "InvalidScopeError",
    "InvalidTarget",
    "InvalidToken",
    "MissingToken",
    "OAuth2Error",
    "Overdue",
    "PayloadTooLarge",
    "RegistrationClosed",
    "ServerError",
    "TemporarilyUnavailable",
    "TooManyRegistrations",
    "UnauthorizedClientError",
    "UnsupportedGrantTypeError",
    "UsernameTaken",
    "WeakPassword",
    "quoted",
]

REALM = "authority"


def quoted(value: str, limit: int = 80) -> str:
    """Client input made safe for error_description (RFC 6749 §5.2 allows %x20-7E but " and \\)."""
    cut = value[:limit]
    return "".join(c if 0x20 <= ord(c) <= 0x7E and c not in '"\\' else "?" for c in cut)


class BasicInvalidClient(InvalidClientError):
    """invalid_client after HTTP Basic: 401 with a Basic challenge (RFC 6749 §5.2)."""

    status_code = 401

    def get_headers(self) -> list[tuple[str, str]]:
        headers = [h for h in super().get_headers() if h[0] != "WWW-Authenticate"]
        headers.append(("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"'))
        return headers


class InvalidTarget(OAuth2Error):
    """RFC 8707 §2: the requested resource is invalid or not allowed for this client."""

    error = "invalid_target"


class UnsupportedGrantTypeError(OAuth2Error):
    """RFC 6749 §5.2. authlib's class of this name takes a grant type and drops the description."""

    error = "unsupported_grant_type"


class PayloadTooLarge(InvalidRequestError):
    status_code = 413


class ServerError(OAuth2Error):
    """Anything unexpected: a fixed description on the wire, the detail in the log only."""

    error = "server_error"
    status_code = 500
    description = "The server met an unexpected condition."


class TemporarilyUnavailable(OAuth2Error):
    """The database (or Redis) could not be reached or stayed busy; the client may retry."""

    error = "temporarily_unavailable"
    status_code = 503
    description = "The service is temporarily unavailable; retry shortly."

    def get_headers(self) -> list[tuple[str, str]]:
        # RFC 9110 §10.2.3: when to try again; soon, since an outage is usually short.
        return [*super().get_headers(), ("Retry-After", "1")]


class Overdue(TemporarilyUnavailable):
    """A request's blocking work did not finish within AUTHORITY_DATABASE_TIMEOUT."""


class BearerError(OAuth2Error):
    """RFC 6750 §3: a refused bearer token is answered with a Bearer challenge."""

    def get_headers(self) -> list[tuple[str, str]]:
        headers = super().get_headers()
        challenge = f'Bearer realm="{REALM}", error="{self.error}"'
        if self.description:
            challenge += f', error_description="{self.description}"'
        headers.append(("WWW-Authenticate", challenge))
        return headers


class InvalidToken(BearerError):
    """RFC 6750 §3.1: the bearer token is missing, expired, revoked or not ours."""

    error = "invalid_token"
    status_code = 401


class MissingToken(InvalidToken):
    """RFC 6750 §3.1: no credentials at all: a bare challenge with no error code."""

    def get_headers(self) -> list[tuple[str, str]]:
        headers = [h for h in super().get_headers() if h[0] != "WWW-Authenticate"]
        headers.append(("WWW-Authenticate", f'Bearer realm="{REALM}"'))
        return headers


class InsufficientScope(BearerError):
    """RFC 6750 §3.1: the token is valid but lacks a scope this endpoint needs."""

    error = "insufficient_scope"
    status_code = 403


# -- self-service accounts (/accounts/...) ------------------------------------------------------


class RegistrationClosed(OAuth2Error):
    """AUTHORITY_REGISTRATION=closed: accounts are created by an operator."""

    error = "registration_closed"
    status_code = 403
    description = "registration is closed; an operator creates accounts"


class TooManyRegistrations(OAuth2Error):
    """One client address registered as many accounts as AUTHORITY_REGISTRATION_MAX_PER_IP
    allows in an hour (RFC 6585 §4)."""

    error = "too_many_requests"
    status_code = 429
    description = "too many registrations from this address; try again in an hour"


class UsernameTaken(OAuth2Error):
    error = "username_taken"
    status_code = 409
    description = "this username is taken; choose another"


class WeakPassword(OAuth2Error):
    """The new password fails the policy; the description says why."""

    error = "weak_password"


class InvalidLink(OAuth2Error):
    """A verification or reset link that is unknown, expired or already used."""

    error = "invalid_link"
    description = "this link is invalid, has expired or was already used; ask for a new one"


class InvalidPassword(OAuth2Error):
    """The current password given to change it is wrong (or the account is throttled)."""

    error = "invalid_password"
    description = "the current password is wrong"
