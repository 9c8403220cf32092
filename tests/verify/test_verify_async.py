"""Verifier.verify_async: the same checks, with any JWKS fetch kept off the event loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from authority.verify import InsufficientScope, InvalidToken
from tests.verify.support import FakeAuthority, SigningKey, claims, make_verifier, new_key


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return new_key("ES256")


@pytest.fixture
def authority(key: SigningKey) -> FakeAuthority:
    return FakeAuthority(key)


def test_refuses_a_bad_token_inside_asyncio(authority: FakeAuthority, key: SigningKey) -> None:
    verifier = make_verifier(authority)
    token = key.sign(claims(iss="https://evil.example"))
    with pytest.raises(InvalidToken, match="the token is from another issuer"):
        asyncio.run(verifier.verify_async(token))


def test_refuses_a_token_lacking_a_scope_inside_asyncio(
    authority: FakeAuthority, key: SigningKey
) -> None:
    verifier = make_verifier(authority)
    verifier.verify(key.sign(claims()))  # fresh keys: the check runs on the loop
    with pytest.raises(InsufficientScope) as caught:
        asyncio.run(verifier.verify_async(key.sign(claims(scope="read")), ["read", "write"]))
    assert caught.value.required == ("write",)


def test_verifies_a_token_inside_asyncio(authority: FakeAuthority, key: SigningKey) -> None:
    verifier = make_verifier(authority)
    verified = asyncio.run(verifier.verify_async(key.sign(claims(scope="read")), ["read"]))
    assert (verified.sub, verified.scopes) == ("user-alice", frozenset({"read"}))


def test_fetches_off_the_event_loop_thread(authority: FakeAuthority, key: SigningKey) -> None:
    verifier = make_verifier(authority)

    async def verify() -> threading.Thread:
        await verifier.verify_async(key.sign(claims()))
        return threading.current_thread()

    loop_thread = asyncio.run(verify())
    assert len(authority.threads) == 2  # metadata and JWKS
    assert all(thread is not loop_thread for thread in authority.threads)


def test_does_not_fetch_when_the_cache_is_fresh(authority: FakeAuthority, key: SigningKey) -> None:
    verifier = make_verifier(authority)
    verifier.verify(key.sign(claims()))
    fetched = len(authority.requests)

    async def verify_many() -> list[str]:
        tokens = [key.sign(claims(sub=f"user-{n}")) for n in range(10)]
        verified = await asyncio.gather(*(verifier.verify_async(t) for t in tokens))
        return [each.sub for each in verified]

    assert asyncio.run(verify_many()) == [f"user-{n}" for n in range(10)]
    assert len(authority.requests) == fetched
