"""The claims hook (``AUTHORITY_CLAIMS_HOOK=module:function``): the operator's function that
adds claims to a user's access tokens, e.g. ``preferred_username``, ``email`` or ``groups``
for resource servers that want them without a call to ``/userinfo``.

It is imported once, at start, and called for every access token a user grant mints
(``password``, ``authorization_code``, ``refresh_token``: on each refresh again, so a changed
address shows in the next token), on the grant's thread, never on the event loop. Not for
``client_credentials`` (no user), and not for id_tokens or ``/userinfo``, whose claims the
OIDC scopes decide.

It is bounded: it may not set a claim the server owns (``RESERVED``), its claims must be
JSON and at most ``MAX_BYTES`` of it. A hook that breaks a rule, or raises, fails the token
request with ``server_error`` and a log line naming the hook and the rule (and, when it
raised, its traceback): a token with fewer claims than the resource servers rely on would
be a silent failure, and one with a server-owned claim replaced a forgery.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from authority.errors import ServerError
from authority.settings import ConfigError
from authority.storage import User

log = logging.getLogger("authority")
# The claims of RFC 9068 §2.2, RFC 7519 §4.1 and OIDC the server sets (or a verifier checks).
RESERVED = frozenset(
    [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "client_id",
        "scope",
        "auth_time",
        "amr",
        "sid",
        "typ",
    ]
)
# The hook's claims, as compact JSON: a token travels in every request's headers.
MAX_BYTES = 4096
_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*\Z")


@dataclass(frozen=True)
class ClaimsUser:
    """The user a token is for, as the hook sees it (never the password hash)."""

    sub: str
    username: str
    email: str | None
    email_verified: bool


@dataclass(frozen=True)
class ClaimsRequest:
    """What the hook is called with: one argument, so later fields break no hook."""

    user: ClaimsUser
    client_id: str
    scope: tuple[str, ...]
    grant_type: str


Hook = Callable[[ClaimsRequest], Mapping[str, Any] | None]


class ClaimsHook:
    def __init__(self, function: Hook, name: str) -> None:
        self._function = function
        self.name = name

    def claims(
        self, user: User, client_id: str, scope: tuple[str, ...], grant_type: str
    ) -> dict[str, Any]:
        """The hook's claims for this token, checked; ``ServerError`` when it raises or they
        break a rule (the client sees ``server_error``, the log why)."""
        request = ClaimsRequest(
            ClaimsUser(user.sub, user.username, user.email, user.email_verified),
            client_id,
            scope,
            grant_type,
        )
        try:
            found = self._function(request)
        except Exception as exc:
            # The traceback is the operator's own code, and only the log sees it.
            log.exception(
                "AUTHORITY_CLAIMS_HOOK %s raised %s: %s; the token request failed (client_id=%s)",
                self.name,
                type(exc).__name__,
                _first_line(exc),
                client_id,
            )
            raise ServerError() from None
        problem, claims = _check(found)
        if problem is not None:
            log.error(
                "AUTHORITY_CLAIMS_HOOK %s %s; the token request failed (client_id=%s)",
                self.name,
                problem,
                client_id,
            )
            raise ServerError()
        return claims


def _check(found: object) -> tuple[str | None, dict[str, Any]]:
    """(what is wrong, or None; the claims)."""
    if found is None:
        return None, {}
    if not isinstance(found, Mapping):
        return f"returned a {type(found).__name__}, not a dict", {}
    claims = dict(found)
    names = [name for name in claims if not isinstance(name, str)]
    if names:
        return f"returned a claim name that is not a string: {names[0]!r}", {}
    reserved = sorted(RESERVED.intersection(claims))
    if reserved:
        return f"may not set {', '.join(reserved)} (the server's own claims)", {}
    try:
        size = len(json.dumps(claims, separators=(",", ":"), allow_nan=False).encode())
    except (TypeError, ValueError, RecursionError) as exc:
        return f"returned a value that is not JSON: {exc}", {}
    if size > MAX_BYTES:
        return f"returned {size} bytes of claims (at most {MAX_BYTES})", {}
    return None, claims


def load(spec: str | None) -> ClaimsHook | None:
    """Import ``module:function`` once, at start; ConfigError in one line naming the variable."""
    if not spec:
        return None
    if not _SPEC.match(spec):
        raise ConfigError(f"AUTHORITY_CLAIMS_HOOK={spec!r} must be module:function")
    module_name, function_name = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"AUTHORITY_CLAIMS_HOOK={spec!r}: no module named {exc.name!r} (is it installed, "
            "or on PYTHONPATH?)"
        ) from None
    except Exception as exc:
        raise ConfigError(
            f"AUTHORITY_CLAIMS_HOOK={spec!r}: importing {module_name} failed: "
            f"{type(exc).__name__}: {_first_line(exc)}"
        ) from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ConfigError(
            f"AUTHORITY_CLAIMS_HOOK={spec!r}: {module_name} has no function {function_name!r}"
        )
    return ClaimsHook(function, spec)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).splitlines()
    return lines[0] if lines else ""
