"""Django REST framework: an authentication class and a scope permission.

    # settings.py
    AUTHORITY = {"ISSUER": "https://auth.example", "AUDIENCE": "https://api.example"}
    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["authority.verify.drf.AuthorityAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["authority.verify.drf.HasScope"],
    }

    class Items(APIView):
        required_scopes = {"GET": ["read"], "POST": ["write"]}  # or one list for every method

``request.auth`` is the token's ``Claims``. ``request.user`` is a ``TokenUser`` (no database
row: ``pk``/``id`` the ``sub``, ``username`` the ``preferred_username`` claim or else the
``sub``), or with ``USER_MAPPING`` the local Django user the token names (``authority.verify.
drf_users``). Refusals answer as RFC 6750 §3 says: 401 with a Bearer challenge
(``invalid_token`` for a bad token), 403 ``insufficient_scope`` with the challenge naming the
missing scopes, 503 ``temporarily_unavailable`` (``Retry-After`` when the authority is down)
while the issuer's metadata or keys cannot be had or name another issuer. Bodies are DRF's
own ``{"detail": ...}``. DRF takes the 401 challenge from the first authentication class, so
list this one first.

A view that ``HasScope`` guards must name its ``required_scopes``; one that does not is a
configuration error, as with django-oauth-toolkit's ``TokenHasScope``: its first request
logs it (naming the view) and it answers 500 ``improperly_configured`` to everyone, never
serving the view unchecked. Views open to any valid token say ``permission_classes =
[IsAuthenticated]``.

``AUTHORITY`` also takes ``JWKS_URI`` (default: from the issuer's metadata), ``ALGORITHMS``,
``LEEWAY`` (seconds), ``FETCH``, a callable or dotted path ``(url, headers) -> Response``
used for the JWKS and metadata requests (default: the standard library), and ``USER_MAPPING``
/ ``USER_FIELD`` (see ``drf_users``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException, AuthenticationFailed, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from authority.verify import (
    Claims,
    InsufficientScope,
    InvalidToken,
    Verifier,
    VerifierUnavailable,
    challenge,
)
from authority.verify.bearer import MALFORMED, MISSING, bearer_token, names_bearer
from authority.verify.drf_users import USER_SETTINGS, TokenUser, check_user_settings, user_for

__all__ = ["AuthorityAuthentication", "HasScope", "TokenUser", "get_verifier"]

log = logging.getLogger("authority.verify")
REALM = "api"
# AUTHORITY key -> Verifier argument; anything not given keeps the Verifier's default.
_OPTIONAL = {"JWKS_URI": "jwks_uri", "ALGORITHMS": "algorithms", "LEEWAY": "leeway"}
_KNOWN = {"ISSUER", "AUDIENCE", "FETCH", *_OPTIONAL, *USER_SETTINGS}
_REFUSAL = "_authority_refusal"  # the InvalidToken behind a 401, kept on the DRF request

_lock = threading.Lock()
_current: tuple[dict[str, Any], Verifier] | None = None


def build_verifier(config: Mapping[str, Any]) -> Verifier:
    """A Verifier from an ``AUTHORITY`` settings dict."""
    unknown = set(config) - _KNOWN
    if unknown:
        raise ImproperlyConfigured(f"AUTHORITY has unknown keys: {', '.join(sorted(unknown))}")
    for name in ("ISSUER", "AUDIENCE"):
        if not isinstance(config.get(name), str) or not config[name]:
            raise ImproperlyConfigured(f"AUTHORITY['{name}'] must be a non-empty string")
    check_user_settings(config)
    options = {argument: config[key] for key, argument in _OPTIONAL.items() if key in config}
    if "FETCH" in config:
        fetch = config["FETCH"]
        options["fetch"] = import_string(fetch) if isinstance(fetch, str) else fetch
    try:
        return Verifier(config["ISSUER"], config["AUDIENCE"], **options)
    except ValueError as exc:
        raise ImproperlyConfigured(f"AUTHORITY: {exc}") from None


def get_verifier() -> Verifier:
    """The process's one Verifier, built on first use; its JWKS cache lives as long as it does.

    It is keyed on a copy of ``settings.AUTHORITY`` and built anew when they differ, so
    ``override_settings`` (or any change of the dict) takes effect on the next request.
    """
    global _current
    config = getattr(settings, "AUTHORITY", None)
    if not isinstance(config, Mapping):
        raise ImproperlyConfigured('set AUTHORITY = {"ISSUER": ..., "AUDIENCE": ...}')
    current = _current
    if current is not None and current[0] == config:
        return current[1]
    with _lock:
        if _current is None or _current[0] != config:
            _current = (dict(config), build_verifier(config))
        return _current[1]


class AuthorityAuthentication(BaseAuthentication):
    """``Authorization: Bearer`` with one of the authority's access tokens (RFC 6750 §2.1)."""

    www_authenticate_realm = REALM

    def get_verifier(self) -> Verifier:
        """Override to verify with another Verifier than the one ``AUTHORITY`` describes."""
        return get_verifier()

    def authenticate(self, request: Request) -> tuple[Any, Claims] | None:
        header = str(request.META.get("HTTP_AUTHORIZATION", ""))
        if not names_bearer(header):
            return None  # no token, or another scheme: other authenticators, or anonymous
        token = bearer_token(header)
        if token is None:  # "Bearer" with no token, or more than one: refused, never passed on
            raise self.refusal(request, InvalidToken(MALFORMED))
        try:
            claims = self.get_verifier().verify(token)
            user = user_for(claims, settings.AUTHORITY)
        except InvalidToken as error:
            raise self.refusal(request, error) from None
        except VerifierUnavailable as error:
            raise Unavailable(error) from None
        return user, claims

    def refusal(self, request: Request, error: InvalidToken) -> AuthenticationFailed:
        """The 401 for a refused token; DRF asks authenticate_header() for its challenge,
        which reads the error back from the request."""
        setattr(request, _REFUSAL, error)
        return AuthenticationFailed(error.description, code=error.error)

    def authenticate_header(self, request: Request) -> str:
        """The 401 challenge: bare when no token was sent, else ``invalid_token``."""
        return challenge(getattr(request, _REFUSAL, None), self.www_authenticate_realm)


class Unavailable(APIException):
    """503 ``temporarily_unavailable``: no token can be checked now, through no fault of the
    token. DRF's exception handler sends ``wait`` as Retry-After."""

    status_code = 503
    default_code = "temporarily_unavailable"

    def __init__(self, error: VerifierUnavailable) -> None:
        super().__init__(error.description, code=error.error)
        self.wait = error.retry_after


class ScopesNotDeclared(ImproperlyConfigured, APIException):
    """A view guarded by ``HasScope`` names no ``required_scopes``. An ImproperlyConfigured,
    as django-oauth-toolkit's ``TokenHasScope`` raises, that DRF renders as a 500 with a
    fixed body instead of a traceback; the view is named in the log only."""

    status_code = 500
    default_code = "improperly_configured"
    default_detail = "this endpoint is misconfigured; the server's log says how"


class ScopeDenied(PermissionDenied):
    """403 ``insufficient_scope``; DRF's exception handler sends ``auth_header`` as the
    WWW-Authenticate header of any APIException, not only of a 401."""

    default_code = "insufficient_scope"

    def __init__(self, error: InsufficientScope, realm: str = REALM) -> None:
        super().__init__(error.description, code=error.error)
        self.auth_header = challenge(error, realm)


class HasScope(BasePermission):
    """Require a verified token with the view's ``required_scopes``: a list for every method,
    or a dict from HTTP method to list (HEAD falls back to GET; a method not named is
    refused). Without a token, DRF answers 401 with the Bearer challenge."""

    message = MISSING

    def has_permission(self, request: Request, view: Any) -> bool:
        required = required_scopes(view, str(request.method))  # first: a view unchecked is worse
        claims = request.auth
        if not isinstance(claims, Claims):
            return False  # anonymous: 401 and the challenge; another credential: 403
        missing = () if required is None else tuple(s for s in required if s not in claims.scopes)
        if required is not None and not missing:
            return True
        error = InsufficientScope(missing)
        # Raising carries the challenge, but would cut `HasScope | Other` short: only a
        # permission the view lists on its own (whose refusal is final anyway) raises.
        if type(self) in getattr(view, "permission_classes", ()):
            realm = getattr(request.successful_authenticator, "www_authenticate_realm", REALM)
            raise ScopeDenied(error, realm)
        self.message, self.code = error.description, error.error
        return False


def required_scopes(view: Any, method: str) -> tuple[str, ...] | None:
    """The scopes ``view`` requires for ``method``; None when it names none for the method."""
    try:
        declared = view.required_scopes
    except AttributeError:
        _report_unscoped(type(view))
        raise ScopesNotDeclared() from None
    if isinstance(declared, Mapping):
        by_method = {str(name).upper(): scopes for name, scopes in declared.items()}
        declared = by_method.get(method.upper())
        if declared is None and method.upper() == "HEAD":
            declared = by_method.get("GET")
        if declared is None:
            return None
    if isinstance(declared, str):
        return tuple(declared.split())
    return tuple(declared)


_reported: set[type] = set()


def _report_unscoped(view: type) -> None:
    """One error in the log per view class, naming it and the fix."""
    if view not in _reported:
        _reported.add(view)
        log.error(
            "%s.%s uses HasScope but sets no required_scopes: every request to it answers "
            "500. Set required_scopes (a list, or a dict by HTTP method), or "
            "permission_classes = [IsAuthenticated] for a view open to any valid token",
            view.__module__,
            view.__qualname__,
        )
