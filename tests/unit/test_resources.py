"""Resource indicators (RFC 8707): which audience an access token is for."""

from __future__ import annotations

import pytest

from authority import resources
from authority.errors import InvalidTarget

ISSUER = "https://authority.example"
ALLOWED = ("https://api.example", "https://other.example/v1")


@pytest.mark.parametrize(
    "value",
    ["", "api.example", "/relative/path", "//api.example", "https://api.example/#frag", "#x"],
)
def test_is_resource_uri_refuses_relative_uris_and_fragments(value: str) -> None:
    assert not resources.is_resource_uri(value)


@pytest.mark.parametrize(
    "value", ["https://api.example", "https://api.example/v1?x=1", "urn:example:api"]
)
def test_is_resource_uri_accepts_absolute_uris(value: str) -> None:
    assert resources.is_resource_uri(value)


def test_audience_refuses_a_malformed_resource_as_invalid_target() -> None:
    with pytest.raises(InvalidTarget, match="absolute URI") as caught:
        resources.audience(["https://api.example#x"], ALLOWED, ISSUER)

    assert caught.value.error == "invalid_target"


def test_audience_refuses_a_resource_the_client_may_not_target() -> None:
    with pytest.raises(InvalidTarget, match="may not request tokens for"):
        resources.audience(["https://api.example", "https://evil.example"], ALLOWED, ISSUER)


def test_audience_quotes_client_input_in_the_description() -> None:
    with pytest.raises(InvalidTarget) as caught:
        resources.audience(['https://evil.example/"\\'], ALLOWED, ISSUER)

    description = caught.value.description
    assert '"' not in description
    assert "\\" not in description


def test_audience_defaults_to_the_first_allowed_audience() -> None:
    assert resources.audience([], ALLOWED, ISSUER) == ("https://api.example",)


def test_audience_defaults_to_the_issuer_when_the_client_has_none() -> None:
    assert resources.audience([], (), ISSUER) == (ISSUER,)


def test_audience_is_the_resources_asked_for_without_duplicates() -> None:
    asked = ["https://other.example/v1", "https://api.example", "https://other.example/v1"]

    assert resources.audience(asked, ALLOWED, ISSUER) == (
        "https://other.example/v1",
        "https://api.example",
    )
