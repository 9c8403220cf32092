"""Django's password hashes, as Django wrote them, verify once and are re-hashed to argon2id."""

from __future__ import annotations

import pytest

from authority.credentials import legacy_hashes
from authority.credentials.hashing import Passwords

# Written by Django's own hashers (``make_password``; cheap parameters where they have any):
# 5.2 for the current ones, 4.2 for sha1 and the unsalted ones it removed in 5.1.
DJANGO = {
    "pbkdf2_sha256": (
        "pbkdf2 pässword",
        "pbkdf2_sha256$1000$0Q2wP8quje7Eb1w6T7BgHk$g5+xPnFhu4axBKVY27l/X0M2AfvFKWnfG/qh6a3lkjo=",
    ),
    "pbkdf2_sha1": (
        "sha1 pbkdf2",
        "pbkdf2_sha1$1000$lgQMUy7fpQREWmJrAeruyG$8lhtHRTyETKXQr1W30o79G54P2Q=",
    ),
    "argon2": (
        "argon2 pässword",
        "argon2$argon2id$v=19$m=1024,t=1,p=1$NmpITjU5NU82ckVXVXA0dThpbXlpNA"
        "$/BJA6hRF3oYidZsU2EPqZQ1zXfYPrIw3ENWsSVvcsoc",
    ),
    "bcrypt_sha256": (
        "bcrypt_sha256 pässword",
        "bcrypt_sha256$$2b$04$H1DZ/f4buLw9TjUG.io8O.GjsQwH/x.fNyQkGdWE/IwL1XgqTEZSS",
    ),
    "bcrypt": (
        "bcrypt pässword",
        "bcrypt$$2b$04$QK5qOdlWa9SPFNAU2ZVc5.QYFhq5BCOiz3MeCCmL/L3Cxzhnl1DSu",
    ),
    "scrypt": (
        "scrypt pässword",
        "scrypt$1024$HmqOPh4iYwzSLdrLvalOKi$8$1$yUGQkiJmYT+eXifzbTS9pmrJMfn9nXdt7CQWS4wMv3PAHrtU"
        "pquv5+qJzmtB+djNUfup6mOZTropHCkkJcPyQg==",
    ),
    "md5": ("md5 pässword", "md5$VliogEEHbs48qKYEkz2cD0$8766d4f83dc6a247f7fbfecdb6c23b54"),
    "sha1": (
        "sha1 pässword",
        "sha1$3LowTFGv5L67OzuDYmmRGp$39c6e2ec98f9058f43ff9d7a2b281ea9c6008abc",
    ),
    "unsalted_sha1": ("unsalted sha1", "sha1$$4b6758d0dfb545b7369b53c69733900fb62f465e"),
    "unsalted_md5": ("unsalted md5", "e217371f59616634182cd9bd71b3664a"),
    "unsalted_md5, prefixed": ("unsalted md5", "md5$$e217371f59616634182cd9bd71b3664a"),
}
# bcrypt hashed "x" * 72; bcrypt read no further, so Django accepted any longer password too.
BCRYPT_72 = "bcrypt$$2b$04$cN6vcqRXRkHBK/yn1dSbj.zWC3k4Dy4VHzX6BEus8h.tr18cp/4M6"


@pytest.fixture(scope="module")
def passwords() -> Passwords:
    return Passwords(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.mark.parametrize("name", sorted(DJANGO))
def test_a_django_hash_refuses_a_wrong_password(name: str) -> None:
    password, stored = DJANGO[name]

    assert legacy_hashes.is_known(stored)
    assert not legacy_hashes.verify(stored, password + "x")
    assert not legacy_hashes.verify(stored, password.upper())


@pytest.mark.parametrize("name", sorted(DJANGO))
def test_a_django_hash_verifies_its_password_and_is_rehashed_to_argon2id(
    passwords: Passwords, name: str
) -> None:
    password, stored = DJANGO[name]

    assert not passwords.verify(stored, "not the password").ok
    check = passwords.verify(stored, password)

    assert check.ok
    assert check.new_hash is not None and check.new_hash.startswith("$argon2id$")
    assert passwords.verify(check.new_hash, password).ok


def test_plain_bcrypt_reads_72_bytes_of_a_password_as_bcrypt_did() -> None:
    assert legacy_hashes.verify(BCRYPT_72, "x" * 72)
    assert legacy_hashes.verify(BCRYPT_72, "x" * 72 + "beyond what bcrypt read")
    assert not legacy_hashes.verify(BCRYPT_72, "x" * 71)


def test_only_the_digests_are_fast() -> None:
    fast = {name for name, (_, stored) in DJANGO.items() if legacy_hashes.is_fast(stored)}

    assert fast == {"md5", "sha1", "unsalted_sha1", "unsalted_md5", "unsalted_md5, prefixed"}


@pytest.mark.parametrize(
    "stored",
    [
        "!unusable",  # Django's unusable password
        "pbkdf2_sha256$0$salt$AAAA",
        "pbkdf2_sha256$99999999999$salt$AAAA",  # a hostile cost
        "pbkdf2_sha256$1000$salt",
        "argon2",
        "bcrypt$$2b$04$short",
        "bcrypt_sha256$2b$04$H1DZ/f4buLw9TjUG.io8O.GjsQwH/x.fNyQkGdWE/IwL1XgqTEZSS",
        "scrypt$1000$salt$8$1$AAAA",  # n is not a power of two
        "scrypt$1048576$salt$8$16$AAAA",  # 16 GiB
        "md5$salt$not-hex",
        "sha1$salt$8766d4f83dc6a247f7fbfecdb6c23b54",  # an md5-sized digest
        "crypt$$ab1234567890",  # never supported by us
        "E217371F59616634182CD9BD71B3664A",  # Django's unsalted md5 is lower-case hex
        "",
    ],
)
def test_a_malformed_or_unknown_hash_is_refused_and_matches_nothing(stored: str) -> None:
    assert not legacy_hashes.is_known(stored)
    assert not legacy_hashes.verify(stored, "anything")


@pytest.mark.parametrize("name", ["md5", "sha1", "unsalted_md5"])
def test_a_miss_on_a_fast_digest_costs_an_argon2_run_as_any_other_miss_does(
    passwords: Passwords, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    burned: list[str] = []
    monkeypatch.setattr(passwords, "_burn", burned.append)
    _, stored = DJANGO[name]

    assert not passwords.verify(stored, "wrong").ok
    assert not passwords.verify(DJANGO["pbkdf2_sha256"][1], "wrong").ok  # slow by itself

    assert burned == ["wrong"]
