"""Finding the JWKS: RFC 8414 metadata of the issuer, unless jwks_uri is given."""

from __future__ import annotations

from typing import Any

import pytest

from authority.verify import InvalidToken, Verifier
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
    "metadata",
    [
        {"issuer": "https://evil.example", "jwks_uri": "https://evil.example/jwks.json"},
        {"issuer": ISSUER + "/", "jwks_uri": JWKS_URL},
        {"jwks_uri": JWKS_URL},
        [ISSUER, JWKS_URL],
    ],
    ids=["another-issuer", "issuer-with-slash", "no-issuer", "not-an-object"],
)
def test_refuses_metadata_that_does_not_name_the_issuer(
    authority: FakeAuthority, key: SigningKey, metadata: Any
) -> None:
    authority.metadata = metadata
    assert refusal(make_verifier(authority), key.sign(claims())) == invalid(
        "the issuer's metadata cannot be fetched"
    )
    assert authority.fetches() == 0


@pytest.mark.parametrize(
    "failure", [OSError("connection refused"), 404, 503], ids=["unreachable", "404", "503"]
)
def test_refuses_tokens_while_the_metadata_cannot_be_fetched(
    authority: FakeAuthority, key: SigningKey, failure: BaseException | int
) -> None:
    authority.failure = failure
    assert refusal(make_verifier(authority), key.sign(claims())) == invalid(
        "the issuer's metadata cannot be fetched"
    )


@pytest.mark.parametrize("jwks_uri", [None, 42])
def test_refuses_metadata_without_a_jwks_uri(
    authority: FakeAuthority, key: SigningKey, jwks_uri: Any
) -> None:
    authority.metadata = {"issuer": ISSUER, "jwks_uri": jwks_uri}
    assert refusal(make_verifier(authority), key.sign(claims())) == invalid(
        "the issuer's metadata has no jwks_uri"
    )


def test_discovers_again_once_the_metadata_can_be_fetched(
    authority: FakeAuthority, key: SigningKey
) -> None:
    clock = FakeClock(NOW)
    verifier = make_verifier(authority, clock=clock)
    authority.failure = OSError("connection refused")
    with pytest.raises(InvalidToken, match="the issuer's metadata cannot be fetched"):
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
        with pytest.raises(InvalidToken, match="cannot be fetched"):
            verifier.verify(key.sign(claims()))
    assert len(authority.requests) == 1
    clock.advance(10)
    with pytest.raises(InvalidToken, match="cannot be fetched"):
        verifier.verify(key.sign(claims()))
    assert len(authority.requests) == 2


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
