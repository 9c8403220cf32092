"""RFC 6750 §2.1: reading the access token from an Authorization header value."""

from __future__ import annotations

import pytest

from authority.verify.bearer import bearer_token, names_bearer

JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_~+/="


@pytest.mark.parametrize(
    ("authorization", "token"),
    [
        (f"Bearer {JWT}", JWT),
        (f"bearer {JWT}", JWT),
        (f"BEARER {JWT}", JWT),
        (f"Bearer   {JWT}", JWT),  # 1*SP
        (f" Bearer {JWT}\t", JWT),  # the field's surrounding whitespace is not part of it
        ("Bearer abc==", "abc=="),
    ],
)
def test_reads_the_one_b64token_after_the_bearer_scheme(authorization: str, token: str) -> None:
    assert bearer_token(authorization) == token
    assert names_bearer(authorization)


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "Bearer a b",  # one token, nothing after it
        f"Bearer {JWT},",
        "Bearer a=b",  # "=" only as padding at the end
        "Bearer =",
        "Bearer\tabc",  # SP, not any whitespace
        "Bearer ab\u00e7",  # b64token is ASCII
        "Bearer ab\u017f",  # the long s, which case-insensitive [a-z] takes for "s"
        "Bearer \u212a",  # the Kelvin sign, likewise taken for "k"
        "Bearerabc",
        "Basic YXBwOnNlY3JldA==",
        "Token abc",
    ],
)
def test_refuses_anything_but_exactly_one_b64token(authorization: str) -> None:
    assert bearer_token(authorization) is None


@pytest.mark.parametrize("authorization", ["Bearer", "bearer ", "BeArEr a b", " Bearer x"])
def test_a_malformed_bearer_header_still_names_the_bearer_scheme(authorization: str) -> None:
    assert names_bearer(authorization)


@pytest.mark.parametrize(
    "authorization", ["", "Basic YXBwOnNlY3JldA==", "Bearerabc", "Token abc", "B\u0435arer x"]
)
def test_another_scheme_is_not_bearer(authorization: str) -> None:
    assert not names_bearer(authorization)
