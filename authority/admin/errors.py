"""The errors of provisioning: the request is invalid, names what does not exist, or is
refused by what is stored; each message says why, in the CLI's words (its flags)."""

from __future__ import annotations

import re

# The input each flag of a message names, as the use cases call it (and the admin API's
# members are named): "--grant must be ..." is about grant_types. The first flag a message
# names is the input at fault, unless the raise says otherwise.
FLAG_FIELDS = {
    "--admin": "admin",
    "--grant": "grant_types",
    "--scope": "scopes",
    "--default-scope": "default_scopes",
    "--audience": "audiences",
    "--add-audience": "add_audiences",
    "--remove-audience": "remove_audiences",
    "--resource-server": "resource_servers",
    "--introspect-any": "introspect_any",
    "--redirect-uri": "redirect_uris",
    "--add-redirect-uri": "add_redirect_uris",
    "--remove-redirect-uri": "remove_redirect_uris",
    "--post-logout-redirect-uri": "post_logout_redirect_uris",
    "--add-post-logout-redirect-uri": "add_post_logout_redirect_uris",
    "--remove-post-logout-redirect-uri": "remove_post_logout_redirect_uris",
    "--public": "public",
    "--consent": "consent",
    "--no-consent": "consent",
    "--refresh-cookie": "refresh_cookie",
    "--allowed-origin": "allowed_origins",
    "--add-allowed-origin": "add_allowed_origins",
    "--remove-allowed-origin": "remove_allowed_origins",
    "--alg": "alg",
    "--force": "force",
    "--now": "now",
    "--revoke-current": "revoke_current",
    "--grace": "grace",
    "--limit": "limit",
    "--since": "since",
    "--until": "until",
    "--type": "type",
    "--before": "before",
    "--username": "username",
    "--email": "email",
    "--no-email": "email",
}
_FLAG = re.compile(r"--[a-z][a-z-]*[a-z]")
_BY_FLAGS = object()  # no field given: the first flag the message names


class AdminError(ValueError):
    """A provisioning request is invalid; the message says what to change. ``field`` is the
    input at fault (see ``FLAG_FIELDS``), None when no one input is."""

    def __init__(self, message: str, field: str | object | None = _BY_FLAGS) -> None:
        super().__init__(message)
        self._field = field

    @property
    def field(self) -> str | None:
        if self._field is not _BY_FLAGS:
            return self._field if isinstance(self._field, str) else None
        named = (FLAG_FIELDS.get(flag) for flag in _FLAG.findall(str(self)))
        return next((f for f in named if f is not None), None)


class NotFound(AdminError):
    """The client, user, session or consent a request names does not exist."""


class Refused(AdminError):
    """A valid request that what is stored refuses: a next key too young to promote, a
    public client's secret to rotate."""
