"""Verifying password hashes imported from Django, so its users keep their passwords.

Every hasher Django ships, and the ones it shipped until 5.1, is checked as Django checks it:
``pbkdf2_sha256$``, ``pbkdf2_sha1$``, ``argon2$``, ``bcrypt_sha256$``, ``bcrypt$``,
``scrypt$``, ``md5$``, ``sha1$`` (salted or with an empty salt) and the bare 32 hex digits of
``unsalted_md5``. A match is re-hashed to argon2id at once (``Passwords.verify``), so an
imported hash lives until its user's first login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# A hostile row must not cost minutes of CPU or gigabytes of memory at a login.
MAX_PBKDF2_ITERATIONS = 10_000_000
MAX_SCRYPT_BYTES = 256 * 1024 * 1024  # 128 * n * r * p
BCRYPT_MAX_BYTES = 72  # what bcrypt reads of a password; bcrypt>=5 refuses longer ones

_HEX = {"md5": re.compile(r"[0-9a-f]{32}"), "sha1": re.compile(r"[0-9a-f]{40}")}
_BCRYPT = re.compile(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}")


@dataclass(frozen=True)
class _Format:
    well_formed: Callable[[list[str]], bool]  # on stored.split("$")
    check: Callable[[str, str], bool]  # (stored, password)
    fast: bool = False  # a digest, not a password hash: a miss costs next to nothing


def _pbkdf2_parts(parts: list[str]) -> bool:
    return len(parts) == 4 and parts[1].isdigit() and 0 < int(parts[1]) <= MAX_PBKDF2_ITERATIONS


def _pbkdf2(digest: str) -> Callable[[str, str], bool]:
    def check(stored: str, password: str) -> bool:
        _, iterations, salt, expected = stored.split("$")
        derived = hashlib.pbkdf2_hmac(digest, password.encode(), salt.encode(), int(iterations))
        return hmac.compare_digest(base64.b64encode(derived).decode("ascii"), expected)

    return check


def _argon2(stored: str, password: str) -> bool:
    try:
        return PasswordHasher().verify(stored[len("argon2") :], password)
    except (VerificationError, InvalidHashError):
        return False


def _bcrypt_parts(parts: list[str]) -> bool:
    return len(parts) == 5 and parts[1] == "" and bool(_BCRYPT.fullmatch("$" + "$".join(parts[2:])))


def _bcrypt(prehash: bool) -> Callable[[str, str], bool]:
    def check(stored: str, password: str) -> bool:
        if prehash:  # Django's BCryptSHA256PasswordHasher: bcrypt over the hex SHA-256
            secret = hashlib.sha256(password.encode()).hexdigest().encode("ascii")
        else:  # BCryptPasswordHasher: the password itself, of which bcrypt read 72 bytes
            secret = password.encode()[:BCRYPT_MAX_BYTES]
        try:
            return bcrypt.checkpw(secret, stored.split("$", 1)[1].encode("ascii"))
        except ValueError:  # a NUL byte in the password, say
            return False

    return check


def _scrypt_parts(parts: list[str]) -> bool:
    if len(parts) != 6 or not all(p.isdigit() for p in (parts[1], parts[3], parts[4])):
        return False
    n, r, p = int(parts[1]), int(parts[3]), int(parts[4])
    return n > 1 and n & (n - 1) == 0 and r > 0 and p > 0 and 128 * n * r * p <= MAX_SCRYPT_BYTES


def _scrypt(stored: str, password: str) -> bool:
    _, n, salt, r, p, expected = stored.split("$")
    try:
        derived = hashlib.scrypt(
            password.encode(),
            salt=salt.encode(),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=128 * int(n) * int(r) * int(p) + 1024 * 1024,
            dklen=64,
        )
    except ValueError:
        return False
    return hmac.compare_digest(base64.b64encode(derived).decode("ascii"), expected)


def _digest_parts(name: str) -> Callable[[list[str]], bool]:
    return lambda parts: len(parts) == 3 and bool(_HEX[name].fullmatch(parts[2]))


def _digest(name: str) -> Callable[[str, str], bool]:
    # Django's MD5/SHA1PasswordHasher: hexdigest(salt + password); an empty salt (``md5$$``,
    # ``sha1$$``) is what its unsalted hashers wrote.
    def check(stored: str, password: str) -> bool:
        _, salt, expected = stored.split("$")
        computed = hashlib.new(name, (salt + password).encode()).hexdigest()
        return hmac.compare_digest(computed, expected)

    return check


FORMATS: dict[str, _Format] = {
    "pbkdf2_sha256": _Format(_pbkdf2_parts, _pbkdf2("sha256")),
    "pbkdf2_sha1": _Format(_pbkdf2_parts, _pbkdf2("sha1")),
    "argon2": _Format(lambda parts: len(parts) > 1 and parts[1].startswith("argon2"), _argon2),
    "bcrypt_sha256": _Format(_bcrypt_parts, _bcrypt(prehash=True)),
    "bcrypt": _Format(_bcrypt_parts, _bcrypt(prehash=False)),
    "scrypt": _Format(_scrypt_parts, _scrypt),
    "md5": _Format(_digest_parts("md5"), _digest("md5"), fast=True),
    "sha1": _Format(_digest_parts("sha1"), _digest("sha1"), fast=True),
}
NAMES = ", ".join([*FORMATS, "unsalted_md5"])


def _format(stored: str) -> tuple[str, _Format] | None:
    """The format ``stored`` is written in, and the value its checker reads."""
    if _HEX["md5"].fullmatch(stored):  # Django's UnsaltedMD5PasswordHasher: no prefix at all
        return "md5$$" + stored, FORMATS["md5"]
    found = FORMATS.get(stored.partition("$")[0]) if "$" in stored else None
    return (stored, found) if found is not None else None


def is_legacy(stored: str) -> bool:
    return _format(stored) is not None


def is_fast(stored: str) -> bool:
    """A salted digest (md5, sha1), which a stolen database gives up quickly."""
    found = _format(stored)
    return found is not None and found[1].fast


def is_known(stored: str) -> bool:
    """Does an imported value look like a hash we can check (Django's or our own)?"""
    if stored.startswith("$argon2id$"):
        return True
    found = _format(stored)
    return found is not None and found[1].well_formed(found[0].split("$"))


def verify(stored: str, password: str) -> bool:
    """Check ``password`` against a Django hash, comparing in constant time."""
    found = _format(stored)
    if found is None or not found[1].well_formed(found[0].split("$")):
        return False
    return found[1].check(found[0], password)
