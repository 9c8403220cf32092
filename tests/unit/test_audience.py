"""Resource indicators (RFC 8707): which audience an access token is for."""

from __future__ import annotations

import pytest

from authority.errors import InvalidTarget
from authority.oauth import audience as audiences

ISSUER = "https://authority.example"
ALLOWED = ("https://api.example", "https://other.example/v1")


@pytest.mark.parametrize(
    "value",
    ["", "api.example", "/relative/path", "//api.example", "https://api.example/#frag", "#x"],
)
def test_is_resource_uri_refuses_relative_uris_and_fragments(value: str) -> None:
    assert not audiences.is_resource_uri(value)


@pytest.mark.parametrize(
    "value", ["https://api.example", "https://api.example/v1?x=1", "urn:example:api"]
)
def test_is_resource_uri_accepts_absolute_uris(value: str) -> None:
    assert audiences.is_resource_uri(value)


def test_audience_refuses_a_malformed_resource_as_invalid_target() -> None:
    with pytest.raises(InvalidTarget, match="absolute URI") as caught:
        audiences.requested(["https://api.example#x"], ALLOWED, ISSUER)

    assert caught.value.error == "invalid_target"


def test_audience_refuses_a_resource_the_client_may_not_target() -> None:
    with pytest.raises(InvalidTarget, match="may not request tokens for"):
        audiences.requested(["https://api.example", "https://evil.example"], ALLOWED, ISSUER)


def test_audience_quotes_client_input_in_the_description() -> None:
    with pytest.raises(InvalidTarget) as caught:
        audiences.requested(['https://evil.example/"\\'], ALLOWED, ISSUER)

    description = caught.value.description
    assert '"' not in description
    assert "\\" not in description


def test_audience_defaults_to_the_first_allowed_audience() -> None:
    assert audiences.requested([], ALLOWED, ISSUER) == ("https://api.example",)


def test_audience_defaults_to_the_issuer_when_the_client_has_none() -> None:
    assert audiences.requested([], (), ISSUER) == (ISSUER,)


def test_audience_is_the_resources_asked_for_without_duplicates() -> None:
    asked = ["https://other.example/v1", "https://api.example", "https://other.example/v1"]

    assert audiences.requested(asked, ALLOWED, ISSUER) == (
        "https://other.example/v1",
        "https://api.example",
    )
