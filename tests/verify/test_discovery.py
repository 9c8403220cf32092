"""Finding the JWKS: RFC 8414 metadata of the issuer, unless jwks_uri is given."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from authority.verify import IssuerMismatch, VerificationError, Verifier, VerifierUnavailable
from tests.conftest import FakeClock
from tests.verify.support import (
    AUDIENCE,
    ISSUER,
    JWKS_URL,
    METADATA_URL,
    NOW,
    FakeAuthority,
    SigningKey,
    claims,
    invalid,
    make_verifier,
    new_key,
    refusal,
)


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return new_key("ES256")


@pytest.fixture
def authority(key: SigningKey) -> FakeAuthority:
    return FakeAuthority(key)


@pytest.mark.parametrize(
    ("metadata", "published"),
    [
        ({"issuer": "https://evil.example", "jwks_uri": JWKS_URL}, "https://evil.example"),
        ({"issuer": ISSUER + "/", "jwks_uri": JWKS_URL}, ISSUER + "/"),
        ({"jwks_uri": JWKS_URL}, None),
    ],
    ids=["another-issuer", "issuer-with-slash", "no-issuer"],
)
def test_metadata_naming_another_issuer_is_a_misconfiguration_not_a_bad_token(
    authority: FakeAuthority,
    key: SigningKey,
    metadata: Any,
    published: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    authority.metadata = metadata
    logged = caplog.at_level(logging.ERROR, "authority.verify")
    with logged, pytest.raises(IssuerMismatch) as caught:
        make_verifier(authority).verify(key.sign(claims()))
    assert not isinstance(caught.value, VerificationError)
    error = caught.value
    assert (error.error, error.status_code, error.retry_after) == (
        "temporarily_unavailable",
        503,
        None,  # waiting does not fix a setting
    )
    assert (error.configured, error.published) == (ISSUER, published)
    [record] = caplog.records
    assert f"the configured issuer is '{ISSUER}'" in record.getMessage()
    assert f"publishes issuer {published!r}" in record.getMessage()
    assert authority.fetches() == 0


def test_logs_an_issuer_mismatch_once_however_long_it_lasts(
    authority: FakeAuthority, key: SigningKey, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(NOW)
    verifier = make_verifier(authority, clock=clock)
    authority.metadata = {"issuer": "https://evil.example", "jwks_uri": JWKS_URL}
    with caplog.at_level(logging.ERROR, "authority.verify"):
        for _ in range(5):
            for _ in range(10):
                with pytest.raises(IssuerMismatch):
                    verifier.verify(key.sign(claims()))
            clock.advance(10)  # the refetch interval: asked again, still wrong
        assert len(authority.requests) == 5
        assert len(caplog.records) == 1
        authority.metadata = {"issuer": "https://other.example", "jwks_uri": JWKS_URL}
        with pytest.raises(IssuerMismatch):
            verifier.verify(key.sign(claims()))
        assert "'https://other.example'" in caplog.records[-1].getMessage()
        assert len(caplog.records) == 2
        authority.metadata = {"issuer": ISSUER, "jwks_uri": JWKS_URL}  # fixed at the authority
        clock.advance(10)
        assert verifier.verify(key.sign(claims())).sub == "user-alice"


@pytest.mark.parametrize(
    "failure",
    [OSError("connection refused"), 404, 503, b"[1, 2]"],
    ids=["unreachable", "404", "503", "not-an-object"],
)
def test_an_issuer_whose_metadata_cannot_be_fetched_is_unavailable_not_a_bad_token(
    authority: FakeAuthority,
    key: SigningKey,
    failure: BaseException | int | bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if isinstance(failure, bytes):
        authority.metadata = json.loads(failure)
    else:
        authority.failure = failure
    logged = caplog.at_level(logging.WARNING, "authority.verify")
    with logged, pytest.raises(VerifierUnavailable) as caught:
        make_verifier(authority).verify(key.sign(claims()))
    error = caught.value
    assert not isinstance(error, VerificationError | IssuerMismatch)
    assert (error.error, error.status_code, error.retry_after) == (
        "temporarily_unavailable",
        503,
        10,  # the refetch interval: the next attempt
    )
    assert error.description == "the authority's metadata cannot be fetched"
    [record] = caplog.records
    assert record.getMessage().startswith(f"the issuer's metadata at {METADATA_URL}")


@pytest.mark.parametrize("jwks_uri", [None, 42])
def test_metadata_without_a_jwks_uri_is_unavailable(
    authority: FakeAuthority, key: SigningKey, jwks_uri: Any
) -> None:
    authority.metadata = {"issuer": ISSUER, "jwks_uri": jwks_uri}
    with pytest.raises(VerifierUnavailable, match="the authority's metadata has no jwks_uri"):
        make_verifier(authority).verify(key.sign(claims()))


def test_discovers_again_once_the_metadata_can_be_fetched(
    authority: FakeAuthority, key: SigningKey
) -> None:
    clock = FakeClock(NOW)
    verifier = make_verifier(authority, clock=clock)
    authority.failure = OSError("connection refused")
    with pytest.raises(VerifierUnavailable, match="the authority's metadata cannot be fetched"):
        verifier.verify(key.sign(claims()))
    authority.failure = None
    clock.advance(10)  # the refetch interval
    assert verifier.verify(key.sign(claims())).sub == "user-alice"


def test_an_unreachable_issuer_costs_one_request_per_interval_not_per_token(
    authority: FakeAuthority, key: SigningKey
) -> None:
    clock = FakeClock(NOW)
    verifier = make_verifier(authority, clock=clock)
    authority.failure = OSError("connection refused")
    for _ in range(50):
        with pytest.raises(VerifierUnavailable, match="cannot be fetched"):
            verifier.verify(key.sign(claims()))
    assert len(authority.requests) == 1
    clock.advance(4)
    with pytest.raises(VerifierUnavailable) as caught:
        verifier.verify(key.sign(claims()))
    assert caught.value.retry_after == 6  # Retry-After counts down to the next attempt
    clock.advance(6)
    with pytest.raises(VerifierUnavailable, match="cannot be fetched"):
        verifier.verify(key.sign(claims()))
    assert len(authority.requests) == 2


def test_a_bad_token_is_still_invalid_once_the_issuer_is_reachable(
    authority: FakeAuthority, key: SigningKey
) -> None:
    assert refusal(make_verifier(authority), key.sign(claims(exp=NOW - 3600))) == invalid(
        "the token has expired"
    )


def test_fetches_the_jwks_named_by_the_issuers_metadata(
    authority: FakeAuthority, key: SigningKey
) -> None:
    authority.jwks_uri = "https://keys.example/authority/jwks"
    authority.metadata = {"issuer": ISSUER, "jwks_uri": authority.jwks_uri}
    assert make_verifier(authority).verify(key.sign(claims())).sub == "user-alice"
    assert [url for url, _ in authority.requests] == [METADATA_URL, authority.jwks_uri]


def test_discovers_once_for_many_tokens(authority: FakeAuthority, key: SigningKey) -> None:
    verifier = make_verifier(authority)
    for _ in range(5):
        verifier.verify(key.sign(claims()))
    assert [url for url, _ in authority.requests] == [METADATA_URL, JWKS_URL]


def test_asks_for_the_metadata_of_an_issuer_given_with_a_trailing_slash(
    authority: FakeAuthority, key: SigningKey
) -> None:
    verifier = Verifier(ISSUER + "/", AUDIENCE, fetch=authority)
    verifier.keys.get(key.kid)
    assert authority.requests[0] == (METADATA_URL, {})


def test_skips_discovery_when_jwks_uri_is_given(authority: FakeAuthority, key: SigningKey) -> None:
    authority.metadata = {"issuer": "https://evil.example"}  # would be refused if fetched
    verifier = make_verifier(authority, jwks_uri=JWKS_URL)
    assert verifier.verify(key.sign(claims())).sub == "user-alice"
    assert authority.requests == [(JWKS_URL, {})]
