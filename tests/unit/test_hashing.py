"""Credentials at rest: argon2id passwords and keyed digests of generated secrets."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from authority.credentials.hashing import (
    MAX_PASSWORD_BYTES,
    PasswordCheck,
    Passwords,
    SecretDigest,
    new_secret,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


@pytest.fixture(scope="module")
def passwords() -> Passwords:
    return Passwords(time_cost=1, memory_cost=1024, parallelism=1)


# -- passwords -----------------------------------------------------------------------------


def test_verify_refuses_a_wrong_password(passwords: Passwords) -> None:
    stored = passwords.hash("correct horse battery")

    assert not passwords.verify(stored, "Correct horse battery").ok


def test_verify_refuses_when_no_hash_is_stored(passwords: Passwords) -> None:
    check = passwords.verify(None, "correct horse battery")

    assert not check.ok
    assert check.new_hash is None


def test_verify_refuses_a_malformed_stored_hash(passwords: Passwords) -> None:
    assert not passwords.verify("not-an-argon2-hash", "correct horse battery").ok


def test_verify_refuses_an_over_long_password_even_if_it_matches(passwords: Passwords) -> None:
    long_password = "x" * (MAX_PASSWORD_BYTES + 1)
    stored = passwords.hash(long_password)

    assert not passwords.verify(stored, long_password).ok


def test_the_length_limit_counts_bytes_not_characters(passwords: Passwords) -> None:
    password = "\u00e9" * (MAX_PASSWORD_BYTES // 2 + 1)  # fewer chars than the limit, more bytes
    stored = passwords.hash(password)

    assert len(password) < MAX_PASSWORD_BYTES
    assert not passwords.verify(stored, password).ok


def test_hash_is_argon2id_with_the_configured_parameters(passwords: Passwords) -> None:
    stored = passwords.hash("correct horse battery")

    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert "correct horse battery" not in stored
    assert passwords.hash("correct horse battery") != stored  # salted


def test_verify_accepts_the_right_password_without_rehash(passwords: Passwords) -> None:
    check = passwords.verify(passwords.hash("correct horse battery"), "correct horse battery")

    assert check.ok
    assert check.new_hash is None


def test_verify_accepts_a_password_of_exactly_the_limit(passwords: Passwords) -> None:
    password = "x" * MAX_PASSWORD_BYTES

    assert passwords.verify(passwords.hash(password), password).ok


def test_verify_gives_a_new_hash_when_parameters_changed(passwords: Passwords) -> None:
    old = passwords.hash("correct horse battery")
    stronger = Passwords(time_cost=2, memory_cost=2048, parallelism=1)

    check = stronger.verify(old, "correct horse battery")

    assert check.ok
    assert check.new_hash is not None
    assert check.new_hash.startswith("$argon2id$v=19$m=2048,t=2,p=1$")
    assert stronger.verify(check.new_hash, "correct horse battery") == PasswordCheck(ok=True)


def test_verify_gives_no_new_hash_for_a_wrong_password_under_old_parameters(
    passwords: Passwords,
) -> None:
    old = passwords.hash("correct horse battery")
    stronger = Passwords(time_cost=2, memory_cost=2048, parallelism=1)

    check = stronger.verify(old, "wrong")

    assert not check.ok
    assert check.new_hash is None


# -- secret digests ------------------------------------------------------------------------


def test_secret_digest_refuses_a_short_key() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SecretDigest(b"k" * 31)


def test_matches_is_false_when_nothing_is_stored() -> None:
    assert SecretDigest(KEY).matches("anything", None) is False


def test_matches_hashes_the_presented_secret_even_when_nothing_is_stored() -> None:
    calls: list[str] = []

    class CountingDigest(SecretDigest):
        def digest(self, secret: str) -> str:
            calls.append(secret)
            return super().digest(secret)

    assert CountingDigest(KEY).matches("presented", None) is False
    assert calls == ["presented"]


def test_matches_is_false_for_another_secret_or_another_key() -> None:
    stored = SecretDigest(KEY).digest("secret")

    assert not SecretDigest(KEY).matches("Secret", stored)
    assert not SecretDigest(OTHER_KEY).matches("secret", stored)


def test_digest_is_keyed_hmac_sha256() -> None:
    digest = SecretDigest(KEY).digest("secret")

    assert digest == hmac.new(KEY, b"secret", hashlib.sha256).hexdigest()
    assert digest != hashlib.sha256(b"secret").hexdigest()
    assert SecretDigest(OTHER_KEY).digest("secret") != digest


def test_matches_accepts_the_secret_it_digested() -> None:
    digest = SecretDigest(KEY)

    assert digest.matches("secret", digest.digest("secret")) is True


def test_secret_digest_repr_hides_the_key() -> None:
    text = repr(SecretDigest(KEY))

    assert KEY.hex() not in text
    assert repr(KEY) not in text


def test_new_secret_carries_256_bits_and_differs_each_time() -> None:
    first, second = new_secret(), new_secret()

    assert first != second
    assert len(first) >= 43  # 32 bytes in unpadded base64url


def test_generated_ids_never_start_with_a_dash_so_the_cli_never_takes_them_for_options() -> None:
    from authority.credentials.hashing import new_id

    ids = [new_id() for _ in range(5000)]
    assert not any(i.startswith("-") for i in ids)
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 22 for i in ids)
