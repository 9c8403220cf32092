"""What happened, told once: the flows record an ``Event``; the audit trail, the metrics and
the log each listen to ``Events``.

An event names who acted (a client, a user or an operator), on whom or what, and a small
detail. It never carries a secret or a token (a jti or a session id at most). The request it
happened in (its id, the caller's address and user agent) comes from
``current_request``, which the web layer sets for each request: a flow never passes it on.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

log = logging.getLogger("authority")

Detail = Mapping[str, str | int | bool | None]


class EventType(StrEnum):
    # Sign-in, by the password grant or the hosted login page.
    LOGIN_SUCCEEDED = "login.succeeded"
    LOGIN_FAILED = "login.failed"
    LOGIN_LOCKED = "login.locked"
    # Tokens. ``token.issued`` is every token response (the metrics count it; the audit trail
    # keeps it only where it says so).
    TOKEN_ISSUED = "token.issued"  # noqa: S105 (an event name)
    REFRESH_REUSED = "refresh.reused"
    # A session (refresh-token family) ended by a rule: a reused refresh token, a replayed
    # authorization code. ``detail["reason"]`` says which.
    SESSION_REVOKED = "session.revoked"
    # RFC 7009: a client revoked one of its tokens (an access token by jti, or a refresh
    # token's whole session).
    TOKEN_REVOKED = "token.revoked"  # noqa: S105 (an event name)
    # A user signed out of one session (a browser, a cookie-mode app, DELETE /sessions/ID), or
    # of all of them.
    LOGOUT = "logout"
    LOGOUT_EVERYWHERE = "logout.everywhere"
    # Self-service accounts.
    ACCOUNT_REGISTERED = "account.registered"
    EMAIL_VERIFIED = "account.email_verified"
    PASSWORD_RESET_REQUESTED = "password.reset_requested"  # noqa: S105 (an event name)
    PASSWORD_RESET = "password.reset"  # noqa: S105 (an event name)
    PASSWORD_CHANGED = "password.changed"  # noqa: S105 (an event name)
    # What operators change (the CLI, the admin API).
    CLIENT_CREATED = "client.created"
    CLIENT_UPDATED = "client.updated"
    CLIENT_DISABLED = "client.disabled"
    CLIENT_ENABLED = "client.enabled"
    CLIENT_DELETED = "client.deleted"
    CLIENT_SECRET_ROTATED = "client.secret_rotated"  # noqa: S105 (an event name)
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DISABLED = "user.disabled"
    USER_ENABLED = "user.enabled"
    USER_DELETED = "user.deleted"
    USER_PASSWORD_SET = "user.password_set"  # noqa: S105 (an event name)
    USER_LOGGED_OUT = "user.logged_out"
    USER_UNLOCKED = "user.unlocked"
    USER_CONSENT_WITHDRAWN = "user.consent_withdrawn"
    USERS_IMPORTED = "user.imported"
    # Signing keys: a next key published, a rotation (``detail["how"]``: scheduled, operator
    # or emergency), a retired key removed once its tokens expired.
    KEY_GENERATED = "key.generated"
    KEY_ROTATED = "key.rotated"
    KEY_REMOVED = "key.removed"


class ActorKind(StrEnum):
    CLIENT = "client"
    USER = "user"
    OPERATOR = "operator"
    ANONYMOUS = "anonymous"
    SYSTEM = "system"  # the server itself: scheduled rotations, key pruning


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The HTTP request an event happened in; None outside one (the CLI, periodic jobs)."""

    request_id: str
    ip: str | None = None
    user_agent: str | None = None


current_request: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "authority_request", default=None
)
NO_DETAIL: Detail = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Event:
    type: EventType
    actor_kind: ActorKind
    actor: str | None  # a client_id, a user's sub or an operator's name
    subject: str | None = None  # whom or what it was done to: a sub, a client_id, a kid
    client_id: str | None = None
    detail: Detail = field(default_factory=lambda: NO_DETAIL)
    at: float = field(default_factory=time.time)
    request: RequestContext | None = field(default_factory=current_request.get)


Listener = Callable[[Event], None]


class Events:
    """The listeners of one running authority. ``record`` never fails its caller: a listener
    that raises is logged (once per listener and kind of error) and the others still hear."""

    def __init__(self) -> None:
        # Each type's listeners: a type nobody hears (a token response, with metrics off and
        # the trail keeping no tokens) costs ``record`` one lookup, not an Event.
        self._listeners: dict[EventType, list[Listener]] = {t: [] for t in EventType}
        self._failed: set[tuple[int, type[BaseException]]] = set()

    def listen(
        self, listener: Listener, hears: Callable[[EventType], bool] = lambda _: True
    ) -> None:
        """``listener`` hears the events of each type ``hears`` accepts (every type)."""
        for type in EventType:
            if hears(type):
                self._listeners[type].append(listener)

    def emit(self, event: Event) -> None:
        for listener in self._listeners[event.type]:
            try:
                listener(event)
            except Exception as exc:
                key = (id(listener), type(exc))
                if key not in self._failed:
                    self._failed.add(key)
                    log.error("event listener failed on %s: %s", event.type, type(exc).__name__)

    def record(
        self,
        type: EventType,
        actor_kind: ActorKind,
        actor: str | None,
        subject: str | None = None,
        client_id: str | None = None,
        **detail: str | int | bool | None,
    ) -> None:
        if self._listeners[type]:
            self.emit(
                Event(
                    type,
                    actor_kind,
                    actor,
                    subject,
                    client_id,
                    MappingProxyType(detail) if detail else NO_DETAIL,
                )
            )


def unheard() -> Events:
    """Events nobody listens to: the default of a flow built without a runtime (tests)."""
    return Events()
