"""What a username and an email address may be, for registration and the operator CLI."""

from __future__ import annotations

import re

_USERNAME = re.compile(r"^[^\s\x00-\x1f\x7f]{1,150}\Z")  # \Z: "$" allows a final \n
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,255}\Z")

USERNAME_RULE = "a username holds 1 to 150 characters, no spaces or control characters"


def valid_username(username: str) -> bool:
    return bool(_USERNAME.match(username))


def normalize_email(email: str) -> str | None:
    """The address lower-cased, so one mailbox is one address; None when it is not one."""
    if not _EMAIL.match(email):
        return None
    return email.lower()
