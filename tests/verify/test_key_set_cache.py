"""KeySetCache: the JWKS fetched once, cached by its HTTP headers, refetched sparingly."""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from authority.verify import InvalidToken, KeySetCache, VerifierUnavailable
from tests.conftest import FakeClock
from tests.verify.support import (
    JWKS_URL,
    METADATA_URL,
    FakeAuthority,
    SigningKey,
    claims,
    make_verifier,
    new_key,
)

INTERVAL = 10.0


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return new_key("ES256")


@pytest.fixture
def authority(key: SigningKey) -> FakeAuthority:
    return FakeAuthority(key)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
def cache(authority: FakeAuthority, clock: FakeClock) -> KeySetCache:
    return KeySetCache(JWKS_URL, fetch=authority, clock=clock, min_refetch_interval=INTERVAL)


# -- the authority cannot be reached ---------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [OSError("connection refused"), TimeoutError("timed out"), ValueError("bad url"), 500, 404],
    ids=["oserror", "timeout", "valueerror", "500", "404"],
)
def test_keeps_using_cached_keys_when_the_authority_cannot_be_reached(
    cache: KeySetCache,
    authority: FakeAuthority,
    clock: FakeClock,
    key: SigningKey,
    failure: BaseException | int,
) -> None:
    assert cache.get(key.kid) is not None
    authority.failure = failure
    clock.advance(300)  # stale: a refetch is attempted, and fails
    assert cache.get(key.kid) is not None
    assert len(authority.requests) == 2


def test_retries_an_unreachable_authority_once_per_interval(
    cache: KeySetCache, authority: FakeAuthority, clock: FakeClock, key: SigningKey
) -> None:
    cache.get(key.kid)
    authority.failure = OSError("connection refused")
    clock.advance(300)
    for _ in range(100):
        assert cache.get(key.kid) is not None
        assert cache.get("unknown") is None
    assert len(authority.requests) == 2
    clock.advance(INTERVAL)
    authority.failure = None
    assert cache.get(key.kid) is not None
    assert len(authority.requests) == 3


def test_keeps_cached_keys_when_the_jwks_is_not_a_key_set(
    cache: KeySetCache, authority: FakeAuthority, clock: FakeClock, key: SigningKey
) -> None:
    cache.get(key.kid)
    for body in (b"<html>", b"[]", b'{"no": "keys"}', b'{"keys": 1}'):
        authority.jwks_body = body
        clock.advance(300)
        assert cache.get(key.kid) is not None


@pytest.mark.parametrize(
    "failure", [OSError("connection refused"), 503, b"<html>"], ids=["oserror", "503", "html"]
)
def test_is_unavailable_not_keyless_while_the_first_fetch_fails(
    cache: KeySetCache,
    authority: FakeAuthority,
    clock: FakeClock,
    key: SigningKey,
    failure: BaseException | int | bytes,
) -> None:
    if isinstance(failure, bytes):
        authority.jwks_body = failure
    else:
        authority.failure = failure
    for _ in range(3):
        with pytest.raises(VerifierUnavailable) as caught:
            cache.get(key.kid)
        assert not isinstance(caught.value, InvalidToken)
    assert (caught.value.description, caught.value.retry_after) == (
        "the authority's keys cannot be fetched",
        10,
    )
    assert len(authority.requests) == 1
    clock.advance(3)
    with pytest.raises(VerifierUnavailable) as caught:
        cache.get(key.kid)
    assert caught.value.retry_after == 7
    authority.failure = authority.jwks_body = None
    clock.advance(7)
    assert cache.get(key.kid) is not None


# -- unknown kids: at most one refetch per interval ------------------------------------------


def test_does_not_refetch_for_an_unknown_kid_within_the_interval(
    cache: KeySetCache, authority: FakeAuthority, clock: FakeClock, key: SigningKey
) -> None:
    cache.get(key.kid)
    clock.advance(INTERVAL - 1)
    assert cache.get("unknown") is None
    assert authority.fetches() == 1


def test_a_flood_of_random_kids_costs_one_fetch(
    cache: KeySetCache, authority: FakeAuthority, clock: FakeClock, key: SigningKey
) -> None:
    cache.get(key.kid)
    clock.advance(INTERVAL)
    for _ in range(1000):
        assert cache.get(secrets.token_urlsafe(16)) is None
    assert authority.fetches() == 2


def test_a_flood_of_tokens_with_random_kids_costs_one_fetch(authority: FakeAuthority) -> None:
    """Through the verifier, from an empty cache: the first token fetches, no other does."""
    verifier = make_verifier(authority, min_refetch_interval=3600)
    forger = new_key("ES256")
    for _ in range(1000):
        token = forger.sign(claims(), kid=secrets.token_urlsafe(16))
        with pytest.raises(InvalidToken, match="the token is signed by an unknown key"):
            verifier.verify(token)
    assert len(authority.requests) == 2  # metadata, then the JWKS once
    assert authority.fetches() == 1


def test_picks_up_a_newly_published_key_on_an_unknown_kid(
    cache: KeySetCache, authority: FakeAuthority, clock: FakeClock, key: SigningKey
) -> None:
    cache.get(key.kid)
    successor = new_key("ES256")
    authority.publish(key, successor)
    clock.advance(INTERVAL)
    found = cache.get(successor.kid)
    assert found is not None
    assert (found.kid, found.alg) == (successor.kid, "ES256")
    assert cache.get(key.kid) is not None
    assert authority.fetches() == 2


def test_drops_a_key_the_authority_no_longer_publishes(
    cache: KeySetCache, authority: FakeAuthority, clock: FakeClock, key: SigningKey
) -> None:
    cache.get(key.kid)
    successor = new_key("ES256")
    authority.publish(successor)
    clock.advance(300)
    assert cache.get(key.kid) is None
    assert cache.get(successor.kid) is not None


# -- freshness from Cache-Control -------------------------------------------------------------


def test_does_not_refetch_before_max_age(
    cache: KeySetCache, authority: FakeAuthority, clock: FakeClock, key: SigningKey
) -> None:
    authority.cache_control = "public, max-age=120"
    cache.get(key.kid)
    clock.advance(119)
    cache.get(key.kid)
    assert authority.fetches() == 1


def test_refetches_once_max_age_has_passed(
    cache: KeySetCache, authority: FakeAuthority, clock: FakeClock, key: SigningKey
) -> None:
    authority.cache_control = "public, max-age=120"
    cache.get(key.kid)
    clock.advance(120)
    cache.get(key.kid)
    cache.get(key.kid)
    assert authority.fetches() == 2


@pytest.mark.parametrize("cache_control", [None, "no-store", "public", "max-age=abc"])
def test_caches_for_the_default_without_a_usable_max_age(
    authority: FakeAuthority, clock: FakeClock, key: SigningKey, cache_control: str | None
) -> None:
    authority.cache_control = cache_control
    cache = KeySetCache(JWKS_URL, fetch=authority, clock=clock, default_max_age=600)
    cache.get(key.kid)
    clock.advance(599)
    cache.get(key.kid)
    assert authority.fetches() == 1
    clock.advance(1)
    cache.get(key.kid)
    assert authority.fetches() == 2


def test_raises_a_max_age_below_the_refetch_interval_to_the_interval(
    cache: KeySetCache, authority: FakeAuthority, clock: FakeClock, key: SigningKey
) -> None:
    authority.cache_control = "max-age=1"
    cache.get(key.kid)
    clock.advance(INTERVAL - 1)
    cache.get(key.kid)
    assert authority.fetches() == 1
    clock.advance(1)
    cache.get(key.kid)
    assert authority.fetches() == 2


def test_reads_max_age_case_insensitively_among_other_directives(
    cache: KeySetCache, authority: FakeAuthority, clock: FakeClock, key: SigningKey
) -> None:
    authority.cache_control = "public, s-maxage=5, Max-Age = 60, must-revalidate"
    cache.get(key.kid)
    clock.advance(59)
    cache.get(key.kid)
    assert authority.fetches() == 1
    clock.advance(1)
    cache.get(key.kid)
    assert authority.fetches() == 2


# -- revalidation with ETag -------------------------------------------------------------------


def test_revalidates_with_if_none_match_and_keeps_its_keys_on_304(
    cache: KeySetCache, authority: FakeAuthority, clock: FakeClock, key: SigningKey
) -> None:
    authority.etag = '"v1"'
    cache.get(key.kid)
    authority.publish()  # a 304 carries no body: the cached keys must survive it
    clock.advance(300)
    assert cache.get(key.kid) is not None
    assert [headers for _, headers in authority.requests] == [{}, {"If-None-Match": '"v1"'}]


def test_a_304_extends_freshness_by_its_max_age(
    cache: KeySetCache, authority: FakeAuthority, clock: FakeClock, key: SigningKey
) -> None:
    authority.etag = '"v1"'
    cache.get(key.kid)
    clock.advance(300)
    authority.cache_control = "max-age=60"
    cache.get(key.kid)  # 304
    clock.advance(59)
    cache.get(key.kid)
    assert authority.fetches() == 2
    clock.advance(1)
    cache.get(key.kid)
    assert authority.fetches() == 3


def test_takes_the_new_keys_when_the_etag_has_changed(
    cache: KeySetCache, authority: FakeAuthority, clock: FakeClock, key: SigningKey
) -> None:
    authority.etag = '"v1"'
    cache.get(key.kid)
    successor = new_key("ES256")
    authority.publish(successor)
    authority.etag = '"v2"'
    clock.advance(300)
    assert cache.get(successor.kid) is not None
    assert cache.get(key.kid) is None
    clock.advance(300)
    cache.get(successor.kid)
    assert authority.requests[-1][1] == {"If-None-Match": '"v2"'}


def test_sends_no_if_none_match_without_an_etag(
    cache: KeySetCache, authority: FakeAuthority, clock: FakeClock, key: SigningKey
) -> None:
    cache.get(key.kid)
    clock.advance(300)
    cache.get(key.kid)
    assert [headers for _, headers in authority.requests] == [{}, {}]


# -- threads ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jwks_uri", "expected"),
    [(JWKS_URL, [JWKS_URL]), (None, [METADATA_URL, JWKS_URL])],
    ids=["jwks-uri-given", "discovered"],
)
def test_threads_verifying_at_once_on_an_empty_cache_cause_one_fetch(
    authority: FakeAuthority, key: SigningKey, jwks_uri: str | None, expected: list[str]
) -> None:
    verifier = make_verifier(authority, jwks_uri=jwks_uri)
    tokens = [key.sign(claims(sub=f"user-{n}")) for n in range(32)]
    start = threading.Barrier(32)

    def verify(token: str) -> str:
        start.wait()
        return verifier.verify(token).sub

    with ThreadPoolExecutor(max_workers=32) as pool:
        subjects = list(pool.map(verify, tokens))
    assert subjects == [f"user-{n}" for n in range(32)]
    assert [url for url, _ in authority.requests] == expected
