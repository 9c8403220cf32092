"""Self-service accounts: registration, email verification, password reset and change.

Plain functions of their inputs and ``now``; no HTTP. What must not delay or shape the answer
(looking up an address, sending mail) comes back as a job for the caller to run after it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from functools import partial

from authority import mail
from authority.accounts.identity import USERNAME_RULE, mailbox, normalize_email, valid_username
from authority.accounts.letters import Letters
from authority.credentials.hashing import Passwords, SecretDigest, new_secret
from authority.credentials.password_policy import PasswordPolicy
from authority.credentials.throttle import LoginThrottle, Quota
from authority.errors import (
    InvalidLink,
    InvalidPassword,
    InvalidRequestError,
    RegistrationClosed,
    TooManyRegistrations,
    UsernameTaken,
    WeakPassword,
)
from authority.events import ActorKind, Events, EventType, unheard
from authority.storage import (
    PASSWORD_RESET,
    VERIFY_EMAIL,
    AccountStore,
    LinkToken,
    Registration,
    User,
)

log = logging.getLogger("authority.audit")
Job = Callable[[], None]
# What the log calls each kind of link.
_LINK_NAMES = {PASSWORD_RESET: "password reset", VERIFY_EMAIL: "verification"}
# Our tokens are 43 characters; anything much longer is not one, and is not hashed.
MAX_TOKEN_LENGTH = 128


class Accounts:
    def __init__(
        self,
        *,
        registration_open: bool,
        store: AccountStore,
        passwords: Passwords,
        digest: SecretDigest,
        policy: PasswordPolicy,
        logins: LoginThrottle,
        mails: Quota,
        registrations: Quota,
        mailer: mail.Mailer,
        letters: Letters,
        events: Events | None = None,
    ) -> None:
        self.registration_open = registration_open
        self._store = store
        self._passwords = passwords
        self._digest = digest
        self.policy = policy
        self._logins = logins
        # Emails we send to one address (and because of one client address), at most so
        # many per window: a flood of requests cannot turn us into a mail bomb, and since a
        # refused request counts nothing, nor can it keep an address from its next mail.
        self._mails = mails
        # Registrations from one client address: each costs a strength check and an argon2
        # hash, and leaves an account behind until it is verified or purged.
        self._registrations = registrations
        self._mailer = mailer
        self.letters = letters
        self._events = events or unheard()

    # -- registration ------------------------------------------------------------------------

    def register(
        self, username: str, email: str, password: str, ip: str | None, now: int
    ) -> tuple[str, Job | None]:
        """Create an account and its verification mail; returns the sub and the mail job."""
        if not self.registration_open:
            raise RegistrationClosed()
        if not valid_username(username):
            raise InvalidRequestError(USERNAME_RULE)
        address = _address(email)
        if not self._registrations.take(None, ip, now):
            log.warning("registration throttled ip=%s", ip)
            raise TooManyRegistrations()
        self._check_policy(password, username, address)
        user = User(
            sub=str(uuid.uuid4()),
            username=username,
            email=address,
            password_hash=self._passwords.hash(password),
            disabled=False,
            created_at=now,
            unconfirmed_since=now,  # until the address is verified or the account signs in
        )
        may_mail = self._count_mail(address, ip, now)
        token = new_secret()
        link = self._link(token, VERIFY_EMAIL, user.sub, now, self.letters.verify_ttl)
        outcome = self._store.register_user(user, link)
        if outcome is Registration.USERNAME_TAKEN:
            # Unavoidable: a name is unique, so registration must say when it is taken.
            raise UsernameTaken()
        if outcome is Registration.EMAIL_TAKEN:
            # A taken address is not revealed: the answer is a success's, with a sub that
            # belongs to no account, and the address's owner is told of the attempt instead.
            # A later login with the chosen username fails, so a determined prober learns it
            # with one more, throttled, request; what this buys is that registration is no
            # cheap oracle of who has an account, and that the owner hears of the attempt.
            log.info("registration refused: email address taken; username=%r", username)
            job = partial(self._notify_owners, address) if may_mail else None
            return str(uuid.uuid4()), job
        log.info("registered sub=%s username=%r", user.sub, username)
        self._events.record(
            EventType.ACCOUNT_REGISTERED, ActorKind.USER, user.sub, user.sub, username=username
        )
        letter = self.letters.verification(address, token)
        return user.sub, self._send_job(letter) if may_mail else None

    def _notify_owners(self, address: str) -> None:
        try:
            for owner in self._store.users_with_email(address):
                if not owner.disabled:
                    mail.deliver(self._mailer, self.letters.already_registered(address))
                    break  # one mail tells the address; which account is not ours to say
        except Exception:  # after the answer: nobody else would hear of it
            log.exception("could not tell an address's owner of a registration attempt")

    # -- email verification -----------------------------------------------------------------

    def verify_email(self, token: str, now: int) -> str:
        """Use a verification link; returns the sub whose address is now verified."""
        sub = self._store.verify_email(self._token_hash(token), now)
        if sub is None:
            raise InvalidLink()
        log.info("email verified sub=%s", sub)
        self._events.record(EventType.EMAIL_VERIFIED, ActorKind.USER, sub, sub)
        return sub

    def link_is_usable(self, token: str, purpose: str, now: int) -> bool:
        """For the page a link opens: may it still be used? Changes nothing."""
        return self._store.peek_link(self._token_hash(token), purpose, now) is not None

    # -- links by mail: password reset, verification again -----------------------------------

    def request_reset(self, email: str, ip: str | None, now: int) -> Job | None:
        """The job that mails a reset link to each enabled account of ``email`` (see
        ``_request_links``)."""
        return self._request_links(email, PASSWORD_RESET, ip, now)

    def resend_verification(self, email: str, ip: str | None, now: int) -> Job | None:
        """The job that mails a fresh verification link to each enabled account of ``email``
        whose address is not verified yet (see ``_request_links``); earlier links still work
        until they expire."""
        return self._request_links(email, VERIFY_EMAIL, ip, now)

    def _request_links(self, email: str, purpose: str, ip: str | None, now: int) -> Job | None:
        """Count the request and return the job that mails the links, if any. The caller
        answers the same before running it: nothing here depends on whether the address has
        an account (enumeration, and its timing). Both kinds of link share the mails' cap
        per mailbox and per client address."""
        address = _address(email)
        if not self._count_mail(address, ip, now):
            log.warning("%s link throttled ip=%s", _LINK_NAMES[purpose], ip)
            return None
        return partial(self._send_links, address, purpose, now)

    def _send_links(self, address: str, purpose: str, now: int) -> None:
        verify = purpose == VERIFY_EMAIL
        ttl = self.letters.verify_ttl if verify else self.letters.reset_ttl
        letter = self.letters.verification if verify else self.letters.reset
        try:
            for user in self._store.users_with_email(address):
                if user.disabled or (verify and user.email_verified):
                    continue
                token = new_secret()
                self._store.add_link(self._link(token, purpose, user.sub, now, ttl))
                log.info("%s link sent sub=%s", _LINK_NAMES[purpose], user.sub)
                if not verify:
                    # Anyone may ask for a reset link; only the mailbox gets it.
                    self._events.record(
                        EventType.PASSWORD_RESET_REQUESTED, ActorKind.ANONYMOUS, None, user.sub
                    )
                mail.deliver(self._mailer, letter(address, token))
        except Exception:  # after the answer: nobody else would hear of it
            log.exception("could not prepare a %s link", _LINK_NAMES[purpose])

    def reset_password(self, token: str, new_password: str, now: int) -> User:
        """Use a reset link: a new password, and every session of the account ends."""
        token_hash = self._token_hash(token)
        sub = self._store.peek_link(token_hash, PASSWORD_RESET, now)
        user = self._store.get_user(sub) if sub else None
        if user is None or user.disabled:
            raise InvalidLink()
        # Checked before the link is used, so a refused password leaves it usable.
        self._check_policy(new_password, user.username, user.email)
        password_hash = self._passwords.hash(new_password)
        if self._store.reset_password(token_hash, password_hash, now) is None:
            raise InvalidLink()  # used meanwhile by a racing request
        # A locked-out owner who proved access to the mailbox may log in again at once.
        self._logins.unlock(user.username)
        log.info("password reset sub=%s; every session ended", user.sub)
        self._events.record(EventType.PASSWORD_RESET, ActorKind.USER, user.sub, user.sub)
        return user

    # -- password change --------------------------------------------------------------------

    def change_password(
        self,
        user: User,
        session_id: str | None,
        current: str,
        new: str,
        ip: str | None,
        now: int,
    ) -> int:
        """Change the password of a signed-in user who knows the current one.

        Every other session ends (a thief's refresh token among them); the session that
        made the change, ``session_id``, stays, so the user is not signed out of the device
        in hand. Returns how many sessions ended.
        """
        # Throttled like a login, the attempt counted before the password is checked.
        attempt = self._logins.reserve(user.username, ip, now)
        if attempt is None:
            # The same answer and the same argon2 cost as a mistake.
            self._passwords.verify(None, current)
            log.warning("password change throttled sub=%s ip=%s", user.sub, ip)
            raise InvalidPassword()
        check = self._passwords.verify(user.password_hash, current)
        if not check.ok:
            self._logins.failed(attempt, now)
            log.warning("password change: wrong current password sub=%s ip=%s", user.sub, ip)
            raise InvalidPassword()
        self._logins.succeeded(attempt, now)
        if new == current:
            raise WeakPassword("the new password must differ from the current one")
        self._check_policy(new, user.username, user.email)
        ended = self._store.change_password(user.sub, self._passwords.hash(new), now, session_id)
        log.info("password changed sub=%s; %d other sessions ended", user.sub, ended)
        self._events.record(
            EventType.PASSWORD_CHANGED,
            ActorKind.USER,
            user.sub,
            user.sub,
            session_id=session_id,
            sessions_ended=ended,
        )
        return ended

    # -- shared ------------------------------------------------------------------------------

    def _check_policy(self, password: str, username: str, email: str | None) -> None:
        problem = self.policy.problem(password, (username, email))
        if problem is not None:
            raise WeakPassword(problem)

    def _count_mail(self, address: str, ip: str | None, now: int) -> bool:
        return self._mails.take(mailbox(address), ip, now)

    def _token_hash(self, token: str) -> str:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidLink()
        return self._digest.digest(token)

    def _link(self, token: str, purpose: str, sub: str, now: int, ttl: int) -> LinkToken:
        return LinkToken(self._digest.digest(token), purpose, sub, now, now + ttl)

    def _send_job(self, letter: EmailMessage) -> Job:
        return partial(mail.deliver, self._mailer, letter)


def _address(email: str) -> str:
    address = normalize_email(email)
    if address is None:
        raise InvalidRequestError("email must be an email address")
    return address
