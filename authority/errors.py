"""OAuth errors carry their wire form: error code, description, HTTP status, extra headers.

``OAuthError`` is the one base; the one renderer is ``authority.web.responses.error_response``.
"""

from __future__ import annotations

import re

__all__ = [
    "AccessDenied",
    "BasicInvalidClient",
    "Conflicting",
    "ConsentRequired",
    "InsufficientScope",
    "InvalidClientError",
    "InvalidField",
    "InvalidGrantError",
    "InvalidLink",
    "InvalidPassword",
    "InvalidRequestError",
    "InvalidScopeError",
    "InvalidTarget",
    "InvalidToken",
    "LoginRequired",
    "MissingToken",
    "NotFound",
    "OAuthError",
    "Overdue",
    "PayloadTooLarge",
    "RegistrationClosed",
    "RequestNotSupported",
    "RequestUriNotSupported",
    "ServerError",
    "TemporarilyUnavailable",
    "TooManyRegistrations",
    "UnauthorizedClientError",
    "UnsupportedGrantTypeError",
    "UnsupportedResponseType",
    "UsernameTaken",
    "WeakPassword",
    "description_text",
    "quoted",
]

REALM = "authority"


def description_text(text: str) -> str:
    """Text as RFC 6749 §5.2 allows it in error_description (printable ASCII but " and \\),
    so it also fits a challenge's quoted-string: " becomes ', \\ becomes /, and any other
    character outside %x20-7E becomes ?."""
    text = text.replace('"', "'").replace("\\", "/")
    return "".join(c if 0x20 <= ord(c) <= 0x7E else "?" for c in text)


def quoted(value: str, limit: int = 80) -> str:
    """Client input, cut to ``limit`` characters, made safe for error_description."""
    return description_text(value[:limit])


# RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E (printable ASCII but " and \).
_WIRE_SAFE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")


class OAuthError(Exception):
    """An error answered on the wire (RFC 6749 §5.2, RFC 6750 §3): a JSON body of ``error``
    and ``error_description``, under ``status_code``, with ``headers``."""

    error: str
    status_code: int = 400
    description: str = ""

    def __init__(self, description: str | None = None) -> None:
        if description is not None:
            # Client input reaches a description only through quoted(): anything else that
            # is not wire-safe is a bug, caught here rather than sent.
            if not _WIRE_SAFE.fullmatch(description):
                raise ValueError(f"error_description is not wire-safe: {description!r}")
            self.description = description
        super().__init__(f"{self.error}: {self.description}")

    def __repr__(self) -> str:
        return f'<{type(self).__name__} "{self.error}">'

    @property
    def headers(self) -> dict[str, str]:
        """The headers this error adds to its response (a challenge, Retry-After)."""
        return {}

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


# -- RFC 6749 §5.2 -------------------------------------------------------------------------------


class InvalidRequestError(OAuthError):
    """A parameter is missing, repeated, malformed or unsupported."""

    error = "invalid_request"


class InvalidClientError(OAuthError):
    """Client authentication failed. 400 unless Basic was used (``BasicInvalidClient``)."""

    error = "invalid_client"


class InvalidGrantError(OAuthError):
    """The grant (password, refresh token) is invalid, expired, revoked or another client's."""

    error = "invalid_grant"


class RefreshTokenEnded(InvalidGrantError):
    """invalid_grant for a refresh token that can never work again (unknown, expired, revoked
    or reused): whoever keeps it, a browser's cookie, may forget it."""


class UnauthorizedClientError(OAuthError):
    """The authenticated client may not use this grant type."""

    error = "unauthorized_client"


class InvalidScopeError(OAuthError):
    """The requested scope is invalid, unknown, malformed, or exceeds what was granted."""

    error = "invalid_scope"
    description = "The requested scope is invalid, unknown, or malformed."


class BasicInvalidClient(InvalidClientError):
    """invalid_client after HTTP Basic: 401 with a Basic challenge (RFC 6749 §5.2)."""

    status_code = 401

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}


class InvalidTarget(OAuthError):
    """RFC 8707 §2: the requested resource is invalid or not allowed for this client."""

    error = "invalid_target"


class UnsupportedGrantTypeError(OAuthError):
    """RFC 6749 §5.2: the grant type is not one this server supports."""

    error = "unsupported_grant_type"


class PayloadTooLarge(InvalidRequestError):
    status_code = 413


class ServerError(OAuthError):
    """Anything unexpected: a fixed description on the wire, the detail in the log only."""

    error = "server_error"
    status_code = 500
    description = "The server met an unexpected condition."


class TemporarilyUnavailable(OAuthError):
    """The database (or Redis) could not be reached or stayed busy; the client may retry."""

    error = "temporarily_unavailable"
    status_code = 503
    description = "The service is temporarily unavailable; retry shortly."

    @property
    def headers(self) -> dict[str, str]:
        # RFC 9110 §10.2.3: when to try again; soon, since an outage is usually short.
        return {"Retry-After": "1"}


class Overdue(TemporarilyUnavailable):
    """A request's blocking work did not finish within AUTHORITY_DATABASE_TIMEOUT."""


class BearerError(OAuthError):
    """RFC 6750 §3: a refused bearer token is answered with a Bearer challenge."""

    @property
    def headers(self) -> dict[str, str]:
        challenge = f'Bearer realm="{REALM}", error="{self.error}"'
        if self.description:
            challenge += f', error_description="{self.description}"'
        return {"WWW-Authenticate": challenge}


class InvalidToken(BearerError):
    """RFC 6750 §3.1: the bearer token is missing, expired, revoked or not ours."""

    error = "invalid_token"
    status_code = 401


class MissingToken(InvalidToken):
    """RFC 6750 §3.1: no credentials at all: a bare challenge with no error code."""

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Bearer realm="{REALM}"'}


class InsufficientScope(BearerError):
    """RFC 6750 §3.1: the token is valid but lacks a scope this endpoint needs; §3 names
    that scope in the challenge's ``scope`` attribute when it is given."""

    error = "insufficient_scope"
    status_code = 403

    def __init__(self, description: str | None = None, scope: str = "") -> None:
        super().__init__(description)
        if not _WIRE_SAFE.fullmatch(scope):
            raise ValueError(f"scope is not wire-safe: {scope!r}")
        self.scope = scope

    @property
    def headers(self) -> dict[str, str]:
        challenge = super().headers["WWW-Authenticate"]
        if self.scope:
            challenge += f', scope="{self.scope}"'
        return {"WWW-Authenticate": challenge}


# -- the admin API (/admin/...) ----------------------------------------------------------------


class InvalidField(InvalidRequestError):
    """400: one member of a request (a body's member, a query parameter) is missing, of the
    wrong type or refused by a rule; ``field`` names it, ``None`` when no one member is at
    fault (an empty change)."""

    def __init__(self, description: str, field: str | None = None) -> None:
        super().__init__(description)
        self.field = field

    def body(self) -> dict[str, str]:
        body = super().body()
        if self.field is not None:
            body["field"] = self.field
        return body


class NotFound(OAuthError):
    """404: what the request names (a client, a user, a session) does not exist, in the
    shape routing's own 404 has."""

    error = "not_found"
    status_code = 404


class Conflicting(OAuthError):
    """409: the request is well formed, but what is stored refuses it (a username taken, a
    key too young to promote)."""

    error = "conflict"
    status_code = 409


# -- self-service accounts (/accounts/...) ------------------------------------------------------


class RegistrationClosed(OAuthError):
    """AUTHORITY_REGISTRATION=closed: accounts are created by an operator."""

    error = "registration_closed"
    status_code = 403
    description = "registration is closed; an operator creates accounts"


class TooManyRegistrations(OAuthError):
    """One client address registered as many accounts as AUTHORITY_REGISTRATION_MAX_PER_IP
    allows in an hour (RFC 6585 §4)."""

    error = "too_many_requests"
    status_code = 429
    description = "too many registrations from this address; try again in an hour"


class UsernameTaken(OAuthError):
    error = "username_taken"
    status_code = 409
    description = "this username is taken; choose another"


class WeakPassword(OAuthError):
    """The new password fails the policy; the description says why."""

    error = "weak_password"


class InvalidLink(OAuthError):
    """A verification or reset link that is unknown, expired or already used."""

    error = "invalid_link"
    description = "this link is invalid, has expired or was already used; ask for a new one"


class InvalidPassword(OAuthError):
    """The current password given to change it is wrong (or the account is throttled)."""

    error = "invalid_password"
    description = "the current password is wrong"


# -- the authorization endpoint (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6) ------------------------


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"
    description = "response_type must be code"


class AccessDenied(OAuthError):
    error = "access_denied"
    description = "the user did not allow this app to sign in"


class LoginRequired(OAuthError):
    """prompt=none, and no one is signed in (or the sign-in is older than max_age)."""

    error = "login_required"
    description = "the user must sign in, which prompt=none does not allow"


class ConsentRequired(OAuthError):
    error = "consent_required"
    description = "the user must approve this app, which prompt=none does not allow"


class RequestNotSupported(OAuthError):
    error = "request_not_supported"
    description = "request objects (the request parameter) are not supported"


class RequestUriNotSupported(OAuthError):
    error = "request_uri_not_supported"
    description = "the request_uri parameter is not supported"
