"""OAuth errors: what may stand in an error_description (RFC 6749 §5.2)."""

from __future__ import annotations

import pytest

from authority.errors import InvalidRequestError, InvalidToken, quoted


@pytest.mark.parametrize("description", ['say "hi"', "a\\b", "line\nbreak", "caf\u00e9"])
def test_refuses_a_description_outside_the_wire_safe_characters(description: str) -> None:
    with pytest.raises(ValueError, match="not wire-safe"):
        InvalidRequestError(description)


def test_client_input_through_quoted_is_always_accepted_and_cannot_break_the_challenge() -> None:
    hostile = 'x", error="forged\\\r\n\u00e9\x00' + "".join(map(chr, range(0x20, 0x7F)))
    refused = InvalidToken(f"unknown token {quoted(hostile, limit=200)}")

    challenge = refused.headers["WWW-Authenticate"]
    assert challenge.count('"') == 6  # realm, error and error_description, each quoted once
    assert refused.body()["error_description"].startswith("unknown token x', error='forged/")
