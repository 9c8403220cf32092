"""Signing in with a username and a password: the one rule the password grant and the
hosted login page share (the same check, the same argon2 cost, the same throttle)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from authority.credentials.hashing import Passwords
from authority.credentials.throttle import LoginThrottle, Unthrottled
from authority.events import ActorKind, Events, EventType, unheard
from authority.storage import User, UserStore

log = logging.getLogger("authority.audit")
# One answer for an unknown user, a wrong password, a disabled account and a locked one.
BAD_CREDENTIALS = "invalid username or password"
UNVERIFIED_EMAIL = "the email address of this account is not verified yet"
MAX_USERNAME = 150  # no account has a longer name: never looked up


class LoginRefused(Exception):
    """The login failed; ``reason`` is what the person (or the client) may be told."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PasswordLogin:
    users: UserStore
    passwords: Passwords
    throttle: LoginThrottle = field(default_factory=Unthrottled)
    require_verified_email: bool = False
    events: Events = field(default_factory=unheard)

    def check(
        self,
        username: str,
        password: str,
        ip: str | None,
        now: int,
        where: str,
        client_id: str,
    ) -> User:
        """The user ``username`` names, if ``password`` is theirs; else ``LoginRefused``.
        Blocking (argon2id): run it in a thread. ``where`` names the way in, for the log."""
        name = username[:MAX_USERNAME]
        # The attempt takes its place in the counts before the password is checked, so a
        # burst of guesses racing each other gets no more checks than the limit allows.
        attempt = self.throttle.reserve(username, ip, now)
        if attempt is None:
            # Locked out: the same answer and the same argon2 cost as a wrong password.
            self.passwords.verify(None, password)
            log.warning("%s throttled client_id=%s username=%r ip=%s", where, client_id, name, ip)
            self.events.record(
                EventType.LOGIN_LOCKED,
                ActorKind.CLIENT,
                client_id,
                None,
                client_id,
                username=name,
                way=where,
            )
            raise LoginRefused(BAD_CREDENTIALS)
        found = self.users.get_user_by_username(username) if len(username) <= MAX_USERNAME else None
        # An unknown user costs one argon2 run too, so timing does not reveal who exists.
        check = self.passwords.verify(found.password_hash if found else None, password)
        if found is None or not check.ok or found.disabled:
            self.throttle.failed(attempt, now)
            log.warning("%s failed client_id=%s username=%r", where, client_id, name)
            self.events.record(
                EventType.LOGIN_FAILED,
                ActorKind.CLIENT,
                client_id,
                found.sub if found else None,
                client_id,
                username=name,
                way=where,
            )
            raise LoginRefused(BAD_CREDENTIALS)
        self.throttle.succeeded(attempt, now)
        if check.new_hash is not None:
            self.users.set_password_hash(found.sub, check.new_hash)
        if self.require_verified_email and not found.email_verified:
            self.events.record(
                EventType.LOGIN_FAILED,
                ActorKind.CLIENT,
                client_id,
                found.sub,
                client_id,
                username=name,
                way=where,
                reason="unverified email",
            )
            raise LoginRefused(UNVERIFIED_EMAIL)
        if found.unconfirmed_since is not None:
            self.users.confirm_sign_in(found.sub)  # in use: no longer purged as abandoned
        self.events.record(
            EventType.LOGIN_SUCCEEDED, ActorKind.USER, found.sub, found.sub, client_id, way=where
        )
        return found
