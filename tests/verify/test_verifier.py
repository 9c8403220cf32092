"""Verifier.verify: RFC 9068 access tokens checked offline against the published JWKS."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from authority.verify import Claims, InsufficientScope, InvalidToken, Verifier
from authority.verify.jwt import MAX_TOKEN_LENGTH
from tests.conftest import FakeClock
from tests.verify.support import (
    ALGORITHMS,
    AUDIENCE,
    ISSUER,
    NOW,
    FakeAuthority,
    SigningKey,
    b64,
    claims,
    ecdsa_twin,
    hs256,
    invalid,
    make_verifier,
    new_key,
    refusal,
    segment,
)

# Headers nested deeper than Python's recursion limit, still far below MAX_TOKEN_LENGTH.
NESTED_ARRAYS = b64(b"[" * 2000)
NESTED_OBJECTS = b64(b'{"a":' * 1000)


def new_token(authority: FakeAuthority, **changes: Any) -> str:
    return authority.keys[0].sign(claims(**changes))


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return new_key("ES256")


@pytest.fixture
def authority(key: SigningKey) -> FakeAuthority:
    return FakeAuthority(key)


@pytest.fixture
def verifier(authority: FakeAuthority) -> Verifier:
    return make_verifier(authority)


# -- not ours: issuer, audience, time -------------------------------------------------------


def test_refuses_a_token_from_another_issuer(verifier: Verifier, key: SigningKey) -> None:
    token = key.sign(claims(iss="https://evil.example"))
    assert refusal(verifier, token) == invalid("the token is from another issuer")


def test_refuses_a_token_for_another_audience(verifier: Verifier, key: SigningKey) -> None:
    token = key.sign(claims(aud=["https://other.example"]))
    assert refusal(verifier, token) == invalid("the token is meant for another audience")


def test_refuses_a_token_without_an_audience(verifier: Verifier, key: SigningKey) -> None:
    token = key.sign(claims(aud=None))
    assert refusal(verifier, token) == invalid("the token is meant for another audience")


def test_refuses_an_expired_token_without_leeway(authority: FakeAuthority) -> None:
    verifier = make_verifier(authority, leeway=0)
    token = new_token(authority, exp=NOW)  # exp is the first instant it is no longer valid
    assert refusal(verifier, token) == invalid("the token has expired")


def test_refuses_a_token_expired_longer_than_the_leeway(authority: FakeAuthority) -> None:
    verifier = make_verifier(authority, leeway=60)
    token = new_token(authority, exp=NOW - 60, iat=NOW - 360)
    assert refusal(verifier, token) == invalid("the token has expired")


def test_accepts_a_token_expired_within_the_leeway(authority: FakeAuthority) -> None:
    verifier = make_verifier(authority, leeway=60)
    token = new_token(authority, exp=NOW - 59, iat=NOW - 359)
    assert verifier.verify(token).expires_at == NOW - 59


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_refuses_a_token_issued_in_the_future_beyond_the_leeway(
    authority: FakeAuthority, claim: str
) -> None:
    verifier = make_verifier(authority, leeway=60)
    token = new_token(authority, **{claim: NOW + 61})
    assert refusal(verifier, token) == invalid("the token is not valid yet")


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_accepts_a_token_issued_in_the_future_within_the_leeway(
    authority: FakeAuthority, claim: str
) -> None:
    verifier = make_verifier(authority, leeway=60)
    verifier.verify(new_token(authority, **{claim: NOW + 60}))


# -- claims a resource server relies on ----------------------------------------------------


@pytest.mark.parametrize("claim", ["sub", "jti", "client_id"])
def test_refuses_a_token_missing_an_identifying_claim(
    verifier: Verifier, key: SigningKey, claim: str
) -> None:
    dropped: dict[str, Any] = {claim: None}  # None drops a claim; it is never ``now``
    token = key.sign(claims(**dropped))
    assert refusal(verifier, token) == invalid(f"the token has no {claim}")


@pytest.mark.parametrize("claim", ["exp", "iat"])
@pytest.mark.parametrize("value", [None, "1700000300", True])
def test_refuses_a_token_whose_times_are_missing_or_not_numbers(
    verifier: Verifier, key: SigningKey, claim: str, value: Any
) -> None:
    token = key.sign(claims(**{claim: value}))
    assert refusal(verifier, token) == invalid(f"the token's {claim} is missing or not a number")


def test_refuses_a_token_whose_scope_is_not_a_string(verifier: Verifier, key: SigningKey) -> None:
    token = key.sign(claims(scope=["read"]))
    assert refusal(verifier, token) == invalid("the token's scope is not a string")


def test_refuses_a_signed_payload_that_is_not_a_claims_object(
    verifier: Verifier, key: SigningKey
) -> None:
    token = key.sign(["not", "claims"])  # type: ignore[arg-type]  # the wrong type on purpose
    assert refusal(verifier, token) == invalid("the token is malformed")


# -- the header: typ, alg, kid, nothing else ------------------------------------------------


@pytest.mark.parametrize("typ", ["JWT", "jwt", "application/jwt", None])
def test_refuses_a_token_that_is_not_typed_as_an_access_token(
    verifier: Verifier, key: SigningKey, typ: str | None
) -> None:
    token = key.sign(claims(), typ=typ)
    assert refusal(verifier, token) == invalid("the token is not an access token (typ)")


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt"])
def test_accepts_each_spelling_of_the_access_token_type(
    verifier: Verifier, key: SigningKey, typ: str
) -> None:
    assert verifier.verify(key.sign(claims(), typ=typ)).sub == "user-alice"


def test_refuses_alg_none(verifier: Verifier, key: SigningKey) -> None:
    header = {"alg": "none", "typ": "at+jwt", "kid": key.kid}
    token = f"{segment(header)}.{segment(claims())}."
    assert refusal(verifier, token) == invalid("the token is signed by an unknown key")


def test_refuses_hs256_keyed_with_the_published_public_key(
    verifier: Verifier, key: SigningKey
) -> None:
    token = hs256(key.public_pem(), claims(), kid=key.kid)
    assert refusal(verifier, token) == invalid("the token is signed by an unknown key")


def test_refuses_a_header_alg_that_differs_from_the_keys_alg(authority: FakeAuthority) -> None:
    """The kid names an RS256 key; the token claims and carries an ES256 signature."""
    rsa_key, ec_key = new_key("RS256"), new_key("ES256")
    authority.publish(rsa_key)
    token = ec_key.sign(claims(), kid=rsa_key.kid)
    assert refusal(make_verifier(authority), token) == invalid(
        "the token is signed by an unknown key"
    )


@pytest.mark.parametrize(
    "parameter",
    [
        {"jku": "https://evil.example/jwks.json"},
        {"x5u": "https://evil.example/cert.pem"},
        {"jwk": {"kty": "oct", "k": "c2VjcmV0"}},
        {"crit": ["exp"], "exp": 1},
        {"x5c": ["MIIB"]},
        {"cty": "JWT"},
    ],
    ids=lambda parameter: next(iter(parameter)),
)
def test_refuses_a_header_with_parameters_beyond_alg_typ_and_kid(
    verifier: Verifier, key: SigningKey, parameter: dict[str, Any]
) -> None:
    token = key.sign(claims(), **parameter)
    assert refusal(verifier, token) == invalid("the token header has unexpected parameters")


@pytest.mark.parametrize("kid", ["no-such-key", None, 42])
def test_refuses_a_token_whose_kid_names_no_published_key(
    verifier: Verifier, key: SigningKey, kid: Any
) -> None:
    token = key.sign(claims(), kid=kid)
    assert refusal(verifier, token) == invalid("the token is signed by an unknown key")


def test_refuses_a_token_signed_by_a_key_that_is_not_published(verifier: Verifier) -> None:
    stranger = new_key("ES256")
    assert refusal(verifier, stranger.sign(claims())) == invalid(
        "the token is signed by an unknown key"
    )


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_refuses_a_token_whose_payload_was_tampered_with(
    authority: FakeAuthority, alg: str
) -> None:
    key = new_key(alg)
    authority.publish(key)
    header, _, signature = key.sign(claims(scope="read")).split(".")
    token = f"{header}.{segment(claims(scope='read write admin'))}.{signature}"
    assert refusal(make_verifier(authority), token) == invalid("the token signature is invalid")


def test_refuses_an_es256_token_whose_signature_was_turned_into_its_high_s_twin(
    verifier: Verifier, key: SigningKey
) -> None:
    token = key.sign(claims())  # signed with a low S
    twin = ecdsa_twin(token)
    signing_input, _, signature = twin.rpartition(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    r, s = (int.from_bytes(half, "big") for half in (raw[:32], raw[32:]))
    # (r, n - s) is a valid ECDSA signature of the same input: only the rule refuses it.
    assert isinstance(key.private, ec.EllipticCurvePrivateKey)
    key.private.public_key().verify(
        encode_dss_signature(r, s), signing_input.encode(), ec.ECDSA(hashes.SHA256())
    )
    assert verifier.verify(token).sub == "user-alice"
    assert refusal(verifier, twin) == invalid("the token signature is invalid")


def test_refuses_a_token_signed_by_another_key_under_a_published_kid(
    verifier: Verifier, key: SigningKey
) -> None:
    token = new_key("ES256").sign(claims(), kid=key.kid)
    assert refusal(verifier, token) == invalid("the token signature is invalid")


# -- not a token at all -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "description"),
    [
        ("", "the token is not a compact JWS"),
        ("not-a-token", "the token is not a compact JWS"),
        ("a.b.c.d.e", "the token is not a compact JWS"),
        ("a.b.c", "the token is malformed"),
        ("!!.??.**", "the token is malformed"),
        ("é.é.é", "the token is malformed"),
        (f"{b64(b'[1, 2]')}.e30.", "the token is malformed"),
        (f"{NESTED_ARRAYS}.e30.", "the token is malformed"),
        (f"{NESTED_OBJECTS}.e30.", "the token is malformed"),
    ],
    ids=[
        "empty",
        "no-dots",
        "five-parts",
        "not-base64-json",
        "not-base64",
        "not-ascii",
        "header-not-object",
        "header-nested-arrays",
        "header-nested-objects",
    ],
)
def test_refuses_garbage(verifier: Verifier, token: str, description: str) -> None:
    assert refusal(verifier, token) == invalid(description)


def test_refuses_an_over_long_token_before_looking_inside(
    verifier: Verifier, key: SigningKey
) -> None:
    padding = "x" * MAX_TOKEN_LENGTH
    token = key.sign(claims(padding=padding))
    assert len(token) > MAX_TOKEN_LENGTH
    assert refusal(verifier, token) == invalid("the token is not a compact JWS")


def test_refuses_a_token_one_character_over_the_limit(verifier: Verifier) -> None:
    token = "a." + "b" * (MAX_TOKEN_LENGTH - 3) + ".c"
    assert len(token) == MAX_TOKEN_LENGTH + 1
    assert refusal(verifier, token) == invalid("the token is not a compact JWS")


# -- scopes ---------------------------------------------------------------------------------


def test_refuses_a_token_lacking_a_required_scope(verifier: Verifier, key: SigningKey) -> None:
    token = key.sign(claims(scope="read"))
    with pytest.raises(InsufficientScope) as caught:
        verifier.verify(token, scopes=["read", "write", "admin"])
    error = caught.value
    assert not isinstance(error, InvalidToken)
    assert (error.error, error.status_code, error.description, error.required) == (
        "insufficient_scope",
        403,
        "the token lacks the scope: write admin",
        ("write", "admin"),
    )


def test_refuses_a_token_without_scope_when_a_scope_is_required(
    verifier: Verifier, key: SigningKey
) -> None:
    with pytest.raises(InsufficientScope) as caught:
        verifier.verify(key.sign(claims(scope=None)), scopes=["read"])
    assert caught.value.required == ("read",)


def test_checks_the_token_before_the_scopes(verifier: Verifier, key: SigningKey) -> None:
    token = key.sign(claims(scope="read", iss="https://evil.example"))
    with pytest.raises(InvalidToken):
        verifier.verify(token, scopes=["write"])


def test_accepts_a_token_holding_every_required_scope(verifier: Verifier, key: SigningKey) -> None:
    token = key.sign(claims(scope="read write"))
    assert verifier.verify(token, scopes=["write", "read"]).scopes == {"read", "write"}


# -- which keys are trusted ----------------------------------------------------------------


def test_does_not_trust_a_key_whose_alg_is_outside_the_allow_list(
    authority: FakeAuthority,
) -> None:
    es256, rs256 = new_key("ES256"), new_key("RS256")
    authority.publish(es256, rs256)
    verifier = make_verifier(authority, algorithms=["ES256"])
    assert refusal(verifier, rs256.sign(claims())) == invalid(
        "the token is signed by an unknown key"
    )
    assert verifier.verify(es256.sign(claims())).sub == "user-alice"


def test_refuses_an_allow_list_naming_no_supported_algorithm(authority: FakeAuthority) -> None:
    with pytest.raises(ValueError, match="algorithms must name some of ES256, RS256, EdDSA"):
        make_verifier(authority, algorithms=["HS256", "none"])


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_ignores_a_jwks_entry_carrying_a_private_key(authority: FakeAuthority, alg: str) -> None:
    leaked = new_key(alg)
    authority.publish()
    authority.extra_entries = [leaked.jwk(private=True)]
    assert "d" in authority.extra_entries[0]
    assert refusal(make_verifier(authority), leaked.sign(claims())) == invalid(
        "the token is signed by an unknown key"
    )


@pytest.mark.parametrize("alg", ["HS256", "ES256"])
def test_ignores_a_symmetric_jwks_entry(authority: FakeAuthority, alg: str) -> None:
    secret = b"a shared secret of thirty-two by"
    entry = {"kty": "oct", "k": b64(secret), "kid": "shared", "use": "sig", "alg": alg}
    authority.extra_entries = [entry]
    token = hs256(secret, claims(), kid="shared", alg=alg)
    assert refusal(make_verifier(authority), token) == invalid(
        "the token is signed by an unknown key"
    )


@pytest.mark.parametrize(
    "change",
    [{"use": "enc"}, {"alg": "RS256"}, {"crv": "P-384"}, {"kid": None}, {"alg": None}],
    ids=["use-enc", "alg-for-another-kty", "other-curve", "no-kid", "no-alg"],
)
def test_ignores_a_jwks_entry_not_fit_for_its_algorithm(
    authority: FakeAuthority, change: dict[str, Any]
) -> None:
    key = new_key("ES256")
    entry = {name: value for name, value in {**key.jwk(), **change}.items() if value is not None}
    authority.publish()
    authority.extra_entries = [entry, "not a key", 42]
    assert refusal(make_verifier(authority), key.sign(claims())) == invalid(
        "the token is signed by an unknown key"
    )


# -- accepted --------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_returns_the_claims_of_a_valid_token(authority: FakeAuthority, alg: str) -> None:
    key = new_key(alg)
    authority.publish(key)
    payload = claims(aud=[AUDIENCE, "https://other.example"], scope="read write")
    verified = make_verifier(authority).verify(key.sign(payload), scopes=["read"])
    assert verified == Claims(
        sub="user-alice",
        client_id="app",
        scopes=frozenset({"read", "write"}),
        audience=(AUDIENCE, "https://other.example"),
        issuer=ISSUER,
        expires_at=NOW + 300,
        issued_at=NOW,
        jti=payload["jti"],
        raw=payload,
    )


def test_accepts_an_issuer_configured_with_a_trailing_slash(
    authority: FakeAuthority, key: SigningKey
) -> None:
    verifier = Verifier(ISSUER + "/", AUDIENCE, fetch=authority, clock=FakeClock(NOW))
    assert verifier.verify(key.sign(claims())).issuer == ISSUER


def test_trusts_every_published_key(authority: FakeAuthority) -> None:
    keys = [new_key(alg) for alg in ALGORITHMS]
    authority.publish(*keys)
    verifier = make_verifier(authority)
    for key in keys:
        assert verifier.verify(key.sign(claims())).sub == "user-alice"
    assert authority.fetches() == 1


def test_checks_many_tokens_with_one_jwks_fetch(
    verifier: Verifier, authority: FakeAuthority, key: SigningKey
) -> None:
    for _ in range(20):
        verifier.verify(key.sign(claims()))
    assert authority.fetches() == 1
