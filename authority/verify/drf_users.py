"""Who ``request.user`` is in Django REST framework: the token's subject, or a local user.

Without ``USER_MAPPING`` (the default) it is a ``TokenUser``: no database row, ``pk`` and
``id`` the token's ``sub``, ``username`` its ``preferred_username`` claim when the token carries
one (else the ``sub``), ``claims`` everything the token says. It has no Django permissions and
is never staff.

With ``AUTHORITY["USER_MAPPING"]`` it is the local Django user the token names, found through
the user model's default manager, for code (or packages such as dj-rest-auth) that expects a
``User`` row:

- ``"username"``: the user whose ``USER_FIELD`` equals the token's ``preferred_username``;
- ``"sub"``: the user whose ``USER_FIELD`` equals the token's ``sub``.

``USER_FIELD`` defaults to the user model's ``USERNAME_FIELD`` and may follow a relation
(``"profile__authority_sub"``). A token whose user is not found, or is not active, is refused
with 401 ``invalid_token``; that includes a client's own ``client_credentials`` token, whose
``sub`` is the client, not a user. The lookup costs one query per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldError, ImproperlyConfigured

from authority.verify import Claims, InvalidToken

USER_SETTINGS = ("USER_MAPPING", "USER_FIELD")
# USER_MAPPING -> the claim that names the local user
_CLAIM = {"username": "preferred_username", "sub": "sub"}


@dataclass(frozen=True)
class TokenUser:
    """The subject of a verified access token, standing in for a Django user: a user, or a
    client acting for itself. No database row; no Django permissions."""

    claims: Claims

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    @property
    def pk(self) -> str:
        return self.claims.sub

    @property
    def id(self) -> str:
        return self.claims.sub

    @property
    def username(self) -> str:
        """``preferred_username`` when the token carries one, else the ``sub``."""
        name = self.claims.raw.get("preferred_username")
        return name if isinstance(name, str) and name else self.claims.sub

    @property
    def email(self) -> str:
        email = self.claims.raw.get("email")
        return email if isinstance(email, str) else ""

    @property
    def scopes(self) -> frozenset[str]:
        return self.claims.scopes

    def get_username(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False

    def has_perms(self, perms: object, obj: object = None) -> bool:
        return False

    def __str__(self) -> str:
        return self.username


def check_user_settings(config: Mapping[str, Any]) -> None:
    """ImproperlyConfigured for a USER_MAPPING or USER_FIELD that cannot work."""
    mapping = config.get("USER_MAPPING")
    if mapping is not None and mapping not in _CLAIM:
        raise ImproperlyConfigured("AUTHORITY['USER_MAPPING'] must be None, 'username' or 'sub'")
    field = config.get("USER_FIELD")
    if field is not None and (not isinstance(field, str) or not field):
        raise ImproperlyConfigured("AUTHORITY['USER_FIELD'] must be a non-empty string")
    if field is not None and mapping is None:
        raise ImproperlyConfigured("AUTHORITY['USER_FIELD'] needs a USER_MAPPING")


def user_for(claims: Claims, config: Mapping[str, Any]) -> Any:
    """``request.user`` for a verified token: a TokenUser, or the mapped local user."""
    mapping = config.get("USER_MAPPING")
    if mapping is None:
        return TokenUser(claims)
    claim = _CLAIM[mapping]
    value = claims.raw.get(claim)
    if not isinstance(value, str) or not value:
        raise InvalidToken(f"the token has no {claim} to name a user")
    model = get_user_model()
    field = str(config.get("USER_FIELD") or model.USERNAME_FIELD)
    try:
        user = model._default_manager.get(**{field: value})
    except model.DoesNotExist:
        raise InvalidToken("the token's user has no account here") from None
    except FieldError as exc:
        raise ImproperlyConfigured(f"AUTHORITY['USER_FIELD'] = {field!r}: {exc}") from None
    if not getattr(user, "is_active", True):
        raise InvalidToken("the token's user is disabled here")
    return user
