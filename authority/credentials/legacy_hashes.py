"""Verifying password hashes imported from Django, so its users keep their passwords.

Django's ``pbkdf2_sha256$``, ``argon2$`` and ``bcrypt_sha256$`` formats are checked as Django
checks them; a match is re-hashed to argon2id at once (``Passwords.verify``), so an imported
hash lives until its user's first login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

PREFIXES = ("pbkdf2_sha256$", "argon2$", "bcrypt_sha256$")
MAX_PBKDF2_ITERATIONS = 10_000_000  # a hostile row must not cost minutes of CPU


def is_legacy(stored: str) -> bool:
    return stored.startswith(PREFIXES)


def is_known(stored: str) -> bool:
    """Does an imported value look like a hash we can check (Django's or our own)?"""
    return stored.startswith("$argon2id$") or (is_legacy(stored) and _well_formed(stored))


def _well_formed(stored: str) -> bool:
    if stored.startswith("pbkdf2_sha256$"):
        parts = stored.split("$")
        return len(parts) == 4 and parts[1].isdigit() and 0 < int(parts[1]) <= MAX_PBKDF2_ITERATIONS
    if stored.startswith("argon2$"):
        return stored.startswith("argon2$argon2")
    return stored.startswith("bcrypt_sha256$$2")


def verify(stored: str, password: str) -> bool:
    """Check ``password`` against a Django hash, in constant time where it compares."""
    if not _well_formed(stored):
        return False
    if stored.startswith("pbkdf2_sha256$"):
        _, iterations, salt, expected = stored.split("$")
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(iterations))
        return hmac.compare_digest(base64.b64encode(digest).decode("ascii"), expected)
    if stored.startswith("argon2$"):
        try:
            return PasswordHasher().verify(stored[len("argon2") :], password)
        except (VerificationError, InvalidHashError):
            return False
    import bcrypt

    # Django's BCryptSHA256PasswordHasher: bcrypt over the hex SHA-256 of the password.
    prehashed = hashlib.sha256(password.encode()).hexdigest().encode("ascii")
    try:
        return bcrypt.checkpw(prehashed, stored[len("bcrypt_sha256$") :].encode("ascii"))
    except ValueError:
        return False
