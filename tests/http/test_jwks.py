"""The JWKS endpoint (RFC 7517 §5): public keys only, cacheable, revalidated by ETag."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from joserfc.jwk import ECKey, OKPKey, RSAKey
from starlette.testclient import TestClient

from authority.keys import lifecycle
from authority.runtime import Authority
from tests.conftest import Registered
from tests.http.helpers import assert_token_response, post_token

# Private members of EC, RSA and OKP keys (RFC 7518 §6, RFC 8037 §2), and symmetric "k".
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
PUBLIC_MEMBERS = {
    "EC": {"kty", "kid", "use", "alg", "crv", "x", "y"},
    "RSA": {"kty", "kid", "use", "alg", "n", "e"},
    "OKP": {"kty", "kid", "use", "alg", "crv", "x"},
}
KEY_CLASSES: dict[str, Any] = {"EC": ECKey, "RSA": RSAKey, "OKP": OKPKey}


@pytest.fixture
def every_key_type(authority: Authority) -> None:
    """Publish next keys for RS256 and EdDSA beside the ES256 keys."""
    for alg in ("RS256", "EdDSA"):
        lifecycle.add_next(authority.storage, authority.private_keys, alg, authority.now())
    authority.keys.reload()


def keys(http: TestClient) -> list[dict[str, Any]]:
    response = http.get("/jwks.json")
    assert response.status_code == 200
    found: list[dict[str, Any]] = response.json()["keys"]
    return found


# -- nothing private, nothing missing -------------------------------------------------------


@pytest.mark.usefixtures("every_key_type")
def test_publishes_no_private_key_material_for_any_key_type(http: TestClient) -> None:
    published = keys(http)
    assert {key["kty"] for key in published} == {"EC", "RSA", "OKP"}
    for key in published:
        assert not PRIVATE_MEMBERS & set(key), key
        assert set(key) == PUBLIC_MEMBERS[key["kty"]], key


@pytest.mark.usefixtures("every_key_type")
def test_describes_every_key_with_kty_kid_use_and_its_pinned_alg(http: TestClient) -> None:
    pinned = {"EC": ("ES256", "P-256"), "RSA": ("RS256", None), "OKP": ("EdDSA", "Ed25519")}
    for key in keys(http):
        alg, crv = pinned[key["kty"]]
        assert key["alg"] == alg
        assert key.get("crv") == crv
        assert key["use"] == "sig"


@pytest.mark.usefixtures("every_key_type")
def test_names_each_key_by_its_rfc7638_thumbprint(http: TestClient) -> None:
    published = keys(http)
    for key in published:
        assert KEY_CLASSES[key["kty"]].import_key(key).thumbprint() == key["kid"]
    assert len({key["kid"] for key in published}) == len(published)


def test_publishes_the_key_that_signs_access_tokens(
    http: TestClient, service_client: Registered
) -> None:
    response = post_token(http, {"grant_type": "client_credentials"}, service_client)
    token = assert_token_response(response, refresh=False)["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    [key] = [k for k in keys(http) if k["kid"] == kid]
    assert key["alg"] == "ES256"


def test_answers_with_the_jwk_set_media_type_and_a_public_max_age(http: TestClient) -> None:
    response = http.get("/jwks.json")
    assert response.headers["content-type"] == "application/jwk-set+json"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert set(response.json()) == {"keys"}


def test_refuses_post(http: TestClient) -> None:
    response = http.post("/jwks.json")
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "HEAD"}


# -- conditional requests -------------------------------------------------------------------


def test_sends_a_strong_etag_that_is_stable_between_requests(http: TestClient) -> None:
    first, second = http.get("/jwks.json"), http.get("/jwks.json")
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2
    assert second.headers["etag"] == etag
    assert second.content == first.content


@pytest.mark.parametrize(
    "if_none_match",
    [
        "{etag}",
        '"other", {etag}',
        '"other",{etag} , "third"',
        "W/{etag}",  # RFC 9110 §13.1.2: If-None-Match compares weakly
        "*",
    ],
)
def test_answers_304_when_if_none_match_matches(http: TestClient, if_none_match: str) -> None:
    etag = http.get("/jwks.json").headers["etag"]
    response = http.get("/jwks.json", headers={"If-None-Match": if_none_match.format(etag=etag)})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == "public, max-age=300"


@pytest.mark.parametrize(
    "if_none_match",
    ['"other"', 'W/"other"', '"other", W/"third"', "{bare}", '"{bare}x"', ""],
)
def test_answers_200_when_if_none_match_does_not_match(
    http: TestClient, if_none_match: str
) -> None:
    etag = http.get("/jwks.json").headers["etag"]
    header = if_none_match.format(bare=etag.strip('"'))
    response = http.get("/jwks.json", headers={"If-None-Match": header})
    assert response.status_code == 200
    assert response.json()["keys"]
    assert response.headers["etag"] == etag


def test_changes_the_etag_when_a_key_is_published(http: TestClient, authority: Authority) -> None:
    before = http.get("/jwks.json")
    lifecycle.add_next(authority.storage, authority.private_keys, "RS256", authority.now())
    authority.keys.reload()
    response = http.get("/jwks.json", headers={"If-None-Match": before.headers["etag"]})
    assert response.status_code == 200
    assert response.headers["etag"] != before.headers["etag"]
    assert len(response.json()["keys"]) == len(before.json()["keys"]) + 1
