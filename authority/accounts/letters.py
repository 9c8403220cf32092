"""The emails accounts send, with their links: the link is the only place a token appears.

No mail carries text a user chose: a username such as "Visit-www.evil.example" would read,
and in many mail programs link, as if we had written it. The greeting is plain "Hello,".
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlencode, urlsplit

from authority import mail
from authority.settings import Settings

VERIFY_PATH = "/accounts/verify-email"
RESET_PATH = "/accounts/password/reset"


def duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


@dataclass(frozen=True)
class Letters:
    base_url: str  # AUTHORITY_PUBLIC_URL, else the issuer
    sender: str
    verify_ttl: int
    reset_ttl: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Letters:
        base = (settings.public_url or settings.issuer).rstrip("/")
        return cls(
            base, settings.email_from, settings.verify_email_ttl, settings.password_reset_ttl
        )

    @property
    def domain(self) -> str:
        return urlsplit(self.base_url).hostname or "localhost"

    def link(self, path: str, token: str) -> str:
        return f"{self.base_url}{path}?{urlencode({'token': token})}"

    def _compose(self, to: str, subject: str, text: str) -> EmailMessage:
        return mail.compose(self.sender, to, subject, text, self.domain)

    def verification(self, to: str, token: str) -> EmailMessage:
        return self._compose(
            to,
            "Confirm your email address",
            "Hello,\n\n"
            "please confirm that this is your email address by opening this link:\n\n"
            f"{self.link(VERIFY_PATH, token)}\n\n"
            f"The link works once and expires in {duration(self.verify_ttl)}. If you did not "
            "create an account, ignore this message.\n",
        )

    def reset(self, to: str, token: str) -> EmailMessage:
        return self._compose(
            to,
            "Reset your password",
            "Hello,\n\n"
            "someone, hopefully you, asked to reset the password of your account. To choose "
            "a new password, open this link:\n\n"
            f"{self.link(RESET_PATH, token)}\n\n"
            f"The link works once and expires in {duration(self.reset_ttl)}. If you did not "
            "ask for it, ignore this message: your password stays as it is.\n",
        )

    def already_registered(self, to: str) -> EmailMessage:
        return self._compose(
            to,
            "Someone tried to register with your email address",
            "Hello,\n\n"
            "someone tried to create a new account with this email address, which already "
            f"belongs to an account at {self.base_url}.\n\n"
            "If that was you: sign in with that account, or ask for a password reset if you "
            "forgot the password or the username. If not, ignore this message; nothing was "
            "changed.\n",
        )
