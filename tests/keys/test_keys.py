"""Signing keys: generation, the PEM store on disk, the key ring and what it signs."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from collections.abc import Mapping
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from authority.admin.bootstrap import prepare
from authority.keys import (
    DirectoryKeyStore,
    KeyRing,
    KeyStoreError,
    algorithms,
    b64url,
    lifecycle,
)
from authority.runtime import Authority
from authority.settings import ALGORITHMS, Settings
from authority.storage import KeyState, SigningKeyInfo
from authority.storage.sql import SqlStorage
from authority.verify.verifier import DEFAULT_ALGORITHMS
from tests.verify.support import P256_ORDER, es256_s

NOW = 1_700_000_000
# RFC 7638 §3.2: the required members of each key type, in lexicographic order.
THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
}
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture
def key_store(tmp_path: Path) -> DirectoryKeyStore:
    return DirectoryKeyStore(tmp_path / "keys")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def ensure_active_key(storage: SqlStorage, store: DirectoryKeyStore, alg: str, now: int) -> bool:
    """One active key and nothing else, as a store holds it after its first start."""
    if any(k.alg == alg and k.state == "active" for k in storage.list_signing_keys()):
        return False
    key = algorithms.generate(alg)
    kid = algorithms.public_jwk(alg, key)["kid"]
    store.save(kid, key)
    storage.add_signing_key(
        SigningKeyInfo(kid=kid, alg=alg, state=KeyState.ACTIVE, created_at=now, activated_at=now)
    )
    return True


def _only_key(storage: SqlStorage) -> SigningKeyInfo:
    (info,) = storage.list_signing_keys()
    return info


def _sign(ring: KeyRing, alg: str, claims: Mapping[str, object]) -> str:
    key = ring.active(alg)
    payload = b64url(json.dumps(claims).encode())
    signing_input = f"{key.header_b64}.{payload}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode()))}"


# -- failures an operator must see --------------------------------------------------------


def test_a_missing_key_file_fails_loading_with_a_clear_message(
    storage: SqlStorage, key_store: DirectoryKeyStore
) -> None:
    ensure_active_key(storage, key_store, "ES256", NOW)
    info = _only_key(storage)
    (key_store.directory / f"{info.kid}.pem").unlink()

    with pytest.raises(KeyStoreError) as caught:
        KeyRing.load(storage, key_store)

    message = str(caught.value)
    assert info.kid in message
    assert "missing" in message
    assert "AUTHORITY_KEYS_DIR" in message
    assert "\n" not in message


def test_a_missing_key_file_is_never_replaced_by_a_new_key(
    storage: SqlStorage, key_store: DirectoryKeyStore
) -> None:
    lifecycle.initialize(storage, key_store, "ES256", NOW)
    before = storage.list_signing_keys()
    active = next(k for k in before if k.state == "active")
    (key_store.directory / f"{active.kid}.pem").unlink()
    files_left = sorted(key_store.directory.glob("*.pem"))

    assert lifecycle.initialize(storage, key_store, "ES256", NOW + 1) == []

    assert storage.list_signing_keys() == before
    assert sorted(key_store.directory.glob("*.pem")) == files_left


def test_starting_with_a_missing_key_file_fails_and_generates_nothing(
    settings: Settings, storage: SqlStorage
) -> None:
    prepare(settings, storage)
    before = storage.list_signing_keys()
    victim = next(k for k in before if k.state == "active")
    (settings.keys_dir / f"{victim.kid}.pem").unlink()
    files_left = sorted(settings.keys_dir.glob("*.pem"))

    with pytest.raises(KeyStoreError, match="missing") as caught:
        prepare(settings, storage)

    assert victim.kid in str(caught.value)
    assert storage.list_signing_keys() == before
    assert sorted(settings.keys_dir.glob("*.pem")) == files_left


def test_a_key_file_holding_another_key_is_refused(
    storage: SqlStorage, key_store: DirectoryKeyStore
) -> None:
    ensure_active_key(storage, key_store, "ES256", NOW)
    info = _only_key(storage)
    key_store.save(info.kid, algorithms.generate("ES256"))

    with pytest.raises(KeyStoreError, match="different key") as caught:
        KeyRing.load(storage, key_store)

    assert info.kid in str(caught.value)


def test_a_key_file_of_another_key_type_is_refused(
    storage: SqlStorage, key_store: DirectoryKeyStore
) -> None:
    ensure_active_key(storage, key_store, "ES256", NOW)
    info = _only_key(storage)
    key_store.save(info.kid, algorithms.generate("EdDSA"))

    with pytest.raises(KeyStoreError, match="does not match its algorithm ES256"):
        KeyRing.load(storage, key_store)


def test_an_unreadable_key_file_is_refused(
    storage: SqlStorage, key_store: DirectoryKeyStore
) -> None:
    ensure_active_key(storage, key_store, "ES256", NOW)
    info = _only_key(storage)
    (key_store.directory / f"{info.kid}.pem").write_bytes(b"not a key\n")

    with pytest.raises(KeyStoreError, match="cannot be read"):
        KeyRing.load(storage, key_store)


def test_a_failed_key_write_leaves_no_temporary_file(key_store: DirectoryKeyStore) -> None:
    # The rename fails for root too: the target is a non-empty directory.
    blocker = key_store.directory / "k1.pem"
    (blocker / "inside").mkdir(parents=True)
    with pytest.raises(OSError):
        key_store.save("k1", algorithms.generate("ES256"))
    assert sorted(p.name for p in key_store.directory.iterdir()) == ["k1.pem"]


def test_the_start_up_repair_removes_temporary_files_of_killed_writes(
    storage: SqlStorage, key_store: DirectoryKeyStore
) -> None:
    lifecycle.initialize(storage, key_store, "ES256", NOW)
    stale = key_store.directory / ".k1.pem.0a1b2c3d.tmp"
    recent = key_store.directory / ".k2.pem.4e5f6a7b.tmp"  # a write that may be under way
    for path in (stale, recent):
        path.write_bytes(b"-----BEGIN PRIVATE KEY-----\n")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))

    found = lifecycle.repair(storage, key_store)

    assert not stale.exists() and recent.exists()
    assert found == [f"deleted {stale.name}, left by an interrupted key write"]


def test_asking_for_an_algorithm_without_an_active_key_fails(
    storage: SqlStorage, key_store: DirectoryKeyStore
) -> None:
    ensure_active_key(storage, key_store, "ES256", NOW)

    with pytest.raises(KeyStoreError, match="no active RS256 signing key"):
        KeyRing.load(storage, key_store).active("RS256")


@pytest.mark.parametrize("kid", ["", "../escape", "a/b", ".hidden"])
def test_the_store_refuses_unsafe_key_ids(key_store: DirectoryKeyStore, kid: str) -> None:
    with pytest.raises(KeyStoreError, match="unsafe key id"):
        key_store.load(kid)
    with pytest.raises(KeyStoreError, match="unsafe key id"):
        key_store.save(kid, algorithms.generate("EdDSA"))


def test_a_missing_hash_key_is_an_error_unless_asked_to_create_it(
    key_store: DirectoryKeyStore,
) -> None:
    with pytest.raises(KeyStoreError, match=r"hash\.key is missing"):
        key_store.hash_key(create=False)

    assert not (key_store.directory / "hash.key").exists()


@pytest.mark.parametrize("content", ["zz" * 32, "ab" * 31])
def test_a_bad_hash_key_file_is_refused(key_store: DirectoryKeyStore, content: str) -> None:
    key_store.directory.mkdir()
    (key_store.directory / "hash.key").write_text(content)

    with pytest.raises(KeyStoreError, match=r"hash\.key"):
        key_store.hash_key(create=True)


# -- keys that work ------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_a_token_signed_by_the_ring_verifies_with_the_published_jwk(
    storage: SqlStorage, key_store: DirectoryKeyStore, alg: str
) -> None:
    assert ensure_active_key(storage, key_store, alg, NOW) is True
    ring = KeyRing.load(storage, key_store)
    claims = {"iss": "https://authority.example", "aud": "https://api.example", "sub": "s1"}

    token = _sign(ring, alg, claims)

    (published,) = json.loads(ring.jwks)["keys"]
    header = jwt.get_unverified_header(token)
    assert header == {"alg": alg, "typ": "at+jwt", "kid": published["kid"]}
    verified = jwt.decode(
        token,
        jwt.PyJWK(published).key,
        algorithms=[alg],
        audience="https://api.example",
        options={"require": ["iss", "aud", "sub"]},
    )
    assert verified == claims
    header_b64, _, signature = token.split(".")
    forged_payload = b64url(json.dumps({**claims, "sub": "s2"}).encode())
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            f"{header_b64}.{forged_payload}.{signature}",
            jwt.PyJWK(published).key,
            algorithms=[alg],
            audience="https://api.example",
        )


def test_every_es256_access_token_is_signed_with_a_low_s(authority: Authority) -> None:
    # ECDSA picks s or n - s at random: 300 tokens all low means the signer normalizes.
    for _ in range(300):
        token = authority.minter.access_token(
            sub="s1", client_id="c1", scope=("read",), audience=("https://api.example",), now=NOW
        ).token
        assert es256_s(token) <= P256_ORDER // 2


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_the_kid_is_the_rfc7638_thumbprint_and_the_jwk_is_public(alg: str) -> None:
    jwk = algorithms.public_jwk(alg, algorithms.generate(alg))

    members = {name: jwk[name] for name in THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    assert jwk["kid"] == b64url(hashlib.sha256(canonical).digest())
    assert jwk["use"] == "sig"
    assert jwk["alg"] == alg
    assert PRIVATE_MEMBERS.isdisjoint(jwk)


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_key_files_are_pkcs8_pem_readable_only_by_the_owner(
    storage: SqlStorage, key_store: DirectoryKeyStore, alg: str
) -> None:
    ensure_active_key(storage, key_store, alg, NOW)
    info = _only_key(storage)
    path = key_store.directory / f"{info.kid}.pem"

    assert _mode(path) == 0o600
    assert _mode(key_store.directory) & 0o077 == 0
    data = path.read_bytes()
    assert data.startswith(b"-----BEGIN PRIVATE KEY-----\n")  # PKCS#8, unencrypted
    loaded = serialization.load_pem_private_key(data, password=None)
    assert isinstance(
        loaded, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)
    )
    assert algorithms.public_jwk(alg, loaded)["kid"] == info.kid
    assert [p.name for p in key_store.directory.iterdir()] == [path.name]  # no temp files left


def test_ensure_active_key_makes_one_key_per_algorithm_once(
    storage: SqlStorage, key_store: DirectoryKeyStore
) -> None:
    assert ensure_active_key(storage, key_store, "ES256", NOW) is True
    assert ensure_active_key(storage, key_store, "ES256", NOW + 1) is False
    assert ensure_active_key(storage, key_store, "EdDSA", NOW + 2) is True

    infos = storage.list_signing_keys()
    assert [(k.alg, k.state, k.created_at, k.activated_at) for k in infos] == [
        ("ES256", "active", NOW, NOW),
        ("EdDSA", "active", NOW + 2, NOW + 2),
    ]
    ring = KeyRing.load(storage, key_store)
    assert ring.algorithms() == ["ES256", "EdDSA"]
    assert {k["kid"] for k in json.loads(ring.jwks)["keys"]} == {k.kid for k in infos}


def test_the_jwks_etag_changes_when_the_key_set_changes(
    storage: SqlStorage, key_store: DirectoryKeyStore
) -> None:
    ensure_active_key(storage, key_store, "ES256", NOW)
    first = KeyRing.load(storage, key_store)
    same = KeyRing.load(storage, key_store)
    ensure_active_key(storage, key_store, "EdDSA", NOW)
    second = KeyRing.load(storage, key_store)

    assert same.etag == first.etag
    assert second.etag != first.etag


def test_the_hash_key_is_created_once_with_mode_0600_and_reused(
    key_store: DirectoryKeyStore,
) -> None:
    created = key_store.hash_key(create=True)
    path = key_store.directory / "hash.key"

    assert len(created) == 32
    assert _mode(path) == 0o600
    assert key_store.hash_key(create=True) == created
    assert key_store.hash_key(create=False) == created
    assert DirectoryKeyStore(key_store.directory).hash_key(create=True) == created


def test_the_verifier_accepts_by_default_every_algorithm_the_authority_signs_with() -> None:
    assert set(algorithms.TABLE) <= set(DEFAULT_ALGORITHMS)
