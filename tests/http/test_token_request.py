"""POST /token as a request: content type, size, encoding, parameters (RFC 6749 §3.2)."""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from authority.runtime import Authority
from authority.storage.sql import SqlStorage
from authority.web.app import create_app
from tests.conftest import ISSUER, Registered
from tests.http.helpers import (
    FORM,
    assert_error,
    assert_no_store,
    assert_token_response,
    basic,
    database_unreachable,
    post_body,
    post_token,
    verify_access_token,
)

LIMIT = 64 * 1024
TOO_LARGE = "request body is larger than 65536 bytes"
NOT_UTF8 = "the request body is not valid UTF-8 form data"
CONTROL = "parameters must not contain control characters"
CC = {"grant_type": "client_credentials"}
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


def credentials(client: Registered) -> bytes:
    return f"&client_id={client.client_id}&client_secret={client.secret}".encode()


# -- content type -------------------------------------------------------------------------


def test_rejects_a_json_body(http: TestClient, service_client: Registered) -> None:
    response = http.post(
        "/token", json={"grant_type": "client_credentials"}, auth=service_client.basic
    )
    assert_error(
        response,
        400,
        "invalid_request",
        "the request body must be application/x-www-form-urlencoded",
    )


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencodedx"],
)
def test_rejects_a_body_that_is_not_declared_as_a_form(
    http: TestClient, content_type: str | None
) -> None:
    response = post_body(http, b"grant_type=client_credentials", content_type)
    assert_error(
        response,
        400,
        "invalid_request",
        "the request body must be application/x-www-form-urlencoded",
    )


@pytest.mark.parametrize("charset", ["iso-8859-1", "utf-16", "latin1"])
def test_rejects_a_form_in_a_charset_other_than_utf8(http: TestClient, charset: str) -> None:
    response = post_body(http, b"grant_type=client_credentials", f"{FORM}; charset={charset}")
    assert_error(response, 400, "invalid_request", "the request body must be UTF-8")


@pytest.mark.parametrize(
    "content_type",
    [
        f"{FORM}; charset=utf-8",
        f'{FORM}; charset="UTF-8"',
        "Application/X-WWW-Form-URLEncoded",
        f"{FORM};charset=UTF-8",
    ],
)
def test_accepts_the_form_content_type_in_any_case_and_with_a_utf8_charset(
    http: TestClient, service_client: Registered, content_type: str
) -> None:
    body = b"grant_type=client_credentials" + credentials(service_client)
    assert_token_response(post_body(http, body, content_type), refresh=False)


# -- size ---------------------------------------------------------------------------------


def test_answers_413_to_a_body_over_64_kib_declared_by_content_length(
    http: TestClient, service_client: Registered
) -> None:
    body = b"grant_type=client_credentials&pad=" + b"a" * LIMIT
    response = post_body(http, body, Authorization=basic(*service_client.basic))
    assert response.request.headers["content-length"] == str(len(body))
    assert_error(response, 413, "invalid_request", TOO_LARGE)


def test_answers_413_to_a_streamed_body_over_64_kib(
    http: TestClient, service_client: Registered
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"grant_type=client_credentials&pad="
        for _ in range(5):
            yield b"a" * 16 * 1024

    response = http.post(
        "/token",
        content=chunks(),
        headers={"Content-Type": FORM},
        auth=service_client.basic,
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_error(response, 413, "invalid_request", TOO_LARGE)


def test_answers_413_when_content_length_overstates_a_small_body(http: TestClient) -> None:
    response = post_body(http, b"grant_type=x", **{"Content-Length": str(LIMIT + 1)})
    assert_error(response, 413, "invalid_request", TOO_LARGE)


def test_reads_a_body_of_exactly_64_kib(http: TestClient, service_client: Registered) -> None:
    head = b"grant_type=client_credentials" + credentials(service_client) + b"&pad="
    body = head + b"a" * (LIMIT - len(head))
    assert len(body) == LIMIT
    assert_token_response(post_body(http, body), refresh=False)


def test_answers_413_to_a_body_one_byte_over_64_kib(
    http: TestClient, service_client: Registered
) -> None:
    head = b"grant_type=client_credentials" + credentials(service_client) + b"&pad="
    body = head + b"a" * (LIMIT + 1 - len(head))
    assert_error(post_body(http, body), 413, "invalid_request", TOO_LARGE)


# -- encoding -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"grant_type=client_credentials&scope=\xff",
        b"grant_type=client_\xc3",
        b"grant_\xe9type=client_credentials",
        b"grant_type=client_credentials&scope=\xed\xa0\x80",  # an encoded surrogate
    ],
)
def test_rejects_bytes_that_are_not_utf8(
    http: TestClient, service_client: Registered, body: bytes
) -> None:
    response = post_body(http, body + credentials(service_client))
    assert_error(response, 400, "invalid_request", NOT_UTF8)


@pytest.mark.parametrize(
    "body",
    [
        b"grant_type=client_credentials&scope=%ff",
        b"grant_type=client_credentials&scope=read%c3",
        b"grant_type=client_credentials&scope=%ed%a0%80",
        b"grant_type=client_credentials&%ff=x",
    ],
)
def test_rejects_percent_encoded_bytes_that_are_not_utf8(
    http: TestClient, service_client: Registered, body: bytes
) -> None:
    response = post_body(http, body + credentials(service_client))
    assert_error(response, 400, "invalid_request", NOT_UTF8)


def test_decodes_percent_encoded_and_plus_encoded_values(
    http: TestClient, service_client: Registered
) -> None:
    body = b"grant_type=client%5Fcredentials&scope=read+%77rite" + credentials(service_client)
    assert assert_token_response(post_body(http, body), refresh=False)["scope"] == "read write"


@pytest.mark.parametrize(
    "body",
    [
        b"grant_type=client_credentials&scope=read%00",
        b"grant_type=client_credentials&scope=read%0Awrite",
        b"grant_type=client_credentials&scope=read%09write",
        b"grant_type=client_credentials&scope=read%7F",
        b"grant_type=client_credentials&scope=read\x00",
        b"grant_type=client_credentials&sc%0Aope=read",
        b"grant_type=client_credentials%0D%0A",
    ],
)
def test_rejects_control_characters_in_names_and_values(
    http: TestClient, service_client: Registered, body: bytes
) -> None:
    response = post_body(http, body + credentials(service_client))
    assert_error(response, 400, "invalid_request", CONTROL)


# -- parameters ---------------------------------------------------------------------------


def test_rejects_a_request_without_grant_type(http: TestClient, service_client: Registered) -> None:
    response = post_token(http, {"scope": "read"}, service_client)
    assert_error(response, 400, "invalid_request", "missing parameter: grant_type")


def test_rejects_an_empty_body(http: TestClient) -> None:
    response = post_body(http, b"")
    assert_error(response, 400, "invalid_request", "missing parameter: grant_type")


def test_treats_an_empty_grant_type_as_missing(
    http: TestClient, service_client: Registered
) -> None:
    response = post_token(http, {"grant_type": ""}, service_client)
    assert_error(response, 400, "invalid_request", "missing parameter: grant_type")


def test_rejects_a_repeated_grant_type(http: TestClient, service_client: Registered) -> None:
    data = {"grant_type": ["client_credentials", "client_credentials"]}
    response = post_token(http, data, service_client)
    assert_error(response, 400, "invalid_request", "parameter grant_type must not be repeated")


@pytest.mark.parametrize(
    "name", ["scope", "username", "password", "client_secret", "client_id", "refresh_token"]
)
def test_rejects_any_other_repeated_parameter(
    http: TestClient, app_client: Registered, alice: str, name: str
) -> None:
    base = {
        "grant_type": "refresh_token" if name == "refresh_token" else "password",
        "username": "alice",
        "password": "correct horse battery",
        "scope": "read",
        "refresh_token": "x",
        "client_id": app_client.client_id,
        "client_secret": app_client.secret,
    }
    data: dict[str, str | list[str]] = {**base, name: [base[name], base[name]]}
    response = post_token(http, data)
    assert_error(response, 400, "invalid_request", f"parameter {name} must not be repeated")


def test_accepts_a_repeated_resource(http: TestClient, app_client: Registered, alice: str) -> None:
    data = {
        "grant_type": "password",
        "username": "alice",
        "password": "correct horse battery",
        "resource": ["https://api.example", "https://other.example"],
    }
    body = assert_token_response(post_token(http, data, app_client), refresh=True)
    claims = verify_access_token(http, body["access_token"], "https://api.example")
    assert claims["aud"] == ["https://api.example", "https://other.example"]


@pytest.mark.parametrize(
    ("grant_type", "shown"),
    [
        ("implicit", "implicit"),
        (DEVICE_CODE, DEVICE_CODE),
        ('a"b\\c', "a'b/c"),  # quotes and backslashes as every description writes them
        ("grânt ✓", "gr?nt ?"),
        ("CLIENT_CREDENTIALS", "CLIENT_CREDENTIALS"),
        ("x" * 200, "x" * 80),
    ],
)
def test_answers_unsupported_grant_type_for_an_unknown_grant(
    http: TestClient, service_client: Registered, grant_type: str, shown: str
) -> None:
    response = post_token(http, {"grant_type": grant_type}, service_client)
    assert_error(response, 400, "unsupported_grant_type", f"unsupported grant_type: {shown}")


def test_treats_empty_values_as_absent(http: TestClient, service_client: Registered) -> None:
    data = {"grant_type": "client_credentials", "scope": "", "resource": "", "client_secret": ""}
    body = assert_token_response(post_token(http, data, service_client), refresh=False)
    assert body["scope"] == "read"  # the client's default, as with no scope at all


def test_ignores_unknown_parameters(http: TestClient, service_client: Registered) -> None:
    data = {"grant_type": "client_credentials", "state": "x", "nonce": "y", "flag": ""}
    assert_token_response(post_token(http, data, service_client), refresh=False)


def test_answers_405_to_get(http: TestClient) -> None:
    response = http.get("/token")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Method Not Allowed",
    }


def test_reads_no_parameters_from_the_query_string(
    http: TestClient, service_client: Registered
) -> None:
    response = http.post("/token", params=CC, data={"scope": "read"}, auth=service_client.basic)
    assert_error(response, 400, "invalid_request", "missing parameter: grant_type")


# -- the response -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"grant_type=client_credentials", 200),
        (b"grant_type=client_credentials&scope=admin", 400),
        (b"grant_type=password", 400),
        (b"grant_type=nope", 400),
        (b"grant_type=client_credentials&grant_type=x", 400),
        (b"\xff", 400),
        (b"a" * (LIMIT + 1), 413),
    ],
)
def test_every_token_response_forbids_caching(
    http: TestClient, service_client: Registered, body: bytes, status: int
) -> None:
    response = post_body(http, body, Authorization=basic(*service_client.basic))
    assert response.status_code == status
    assert_no_store(response)


def test_answers_temporarily_unavailable_when_the_database_is_unreachable(
    http: TestClient,
    service_client: Registered,
    storage: SqlStorage,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    with database_unreachable(storage, monkeypatch, tmp_path):
        response = post_token(http, CC, service_client)
    assert_error(
        response,
        503,
        "temporarily_unavailable",
        "The service is temporarily unavailable; retry shortly.",
    )
    assert_token_response(post_token(http, CC, service_client), refresh=False)


# -- no input makes it fail ---------------------------------------------------------------

NAMES = [
    "grant_type",
    "scope",
    "resource",
    "username",
    "password",
    "refresh_token",
    "client_id",
    "client_secret",
    "x",
    "",
]
BROKEN_NAMES = ["%00", "%ff", "grant_type%0A", "a%ed%a0%80"]
# Already form-encoded, so each can carry bytes a form encoder would never produce.
VALUES = [
    "",
    "client_credentials",
    "password",
    "refresh_token",
    "read",
    "read+write",
    "read++write",
    "+read",
    "admin",
    "alice",
    "https://api.example",
    "https://other.example",
    "https://[::1",
    "http://[",
    "https://api.example#frag",
    "/relative",
    "urn:x",
    "%",
    "%zz",
    "+",
    "%2B",
    "=",
    "%22",
    "%5C",
    "%C3%A9",
    "%F0%9F%92%A5",
    "%EF%BF%BF",
    "x" * 300,
    "%25",
]
BROKEN_VALUES = ["%ff", "%c3", "%ed%a0%80", "%00", "%0a", "%7f", "\x01"]


def _fuzz_request(
    rng: random.Random, service: Registered, app: Registered
) -> tuple[bytes, dict[bytes, bytes]]:
    """A valid request of a random grant, then mutated: the grants' code is reached."""
    if rng.random() < 0.05:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))), {}
    client, pairs = rng.choice(
        [
            (service, [("grant_type", "client_credentials")]),
            (app, [("grant_type", "password"), ("username", "alice")]),
            (app, [("grant_type", "refresh_token"), ("refresh_token", "x" * 43)]),
        ]
    )
    if pairs[0][1] == "password":
        pairs.append(("password", "correct+horse+battery"))
    for _ in range(rng.randrange(1, 4)):
        name = rng.choice(BROKEN_NAMES if rng.random() < 0.05 else NAMES)
        pair = (name, rng.choice(BROKEN_VALUES if rng.random() < 0.05 else VALUES))
        if pairs and rng.random() < 0.4:
            pairs[rng.randrange(len(pairs))] = pair
        else:
            pairs.insert(rng.randrange(len(pairs) + 1), pair)
    headers: dict[bytes, bytes] = {}
    roll = rng.random()
    if roll < 0.6:
        headers[b"Authorization"] = basic(*client.basic).encode()
    elif roll < 0.8:
        pairs += [("client_id", client.client_id), ("client_secret", client.secret)]
    elif roll < 0.9:
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 24)))
        headers[b"Authorization"] = b"Basic " + base64.b64encode(raw)
    else:
        headers[b"Authorization"] = rng.choice(
            [b"Basic", b"Basic ", b"Bearer x", b"Basic \xe9", b"basic  ===", b"x"]
        )
    body = ("&&" if rng.random() < 0.1 else "&").join(f"{k}={v}" for k, v in pairs)
    return body.encode(), headers


def test_never_answers_5xx_to_malformed_requests(
    authority: Authority, service_client: Registered, app_client: Registered, alice: str
) -> None:
    rng = random.Random(6749)
    content_types = [FORM] * 6 + [f"{FORM}; charset=utf-8", "text/plain", None]
    failures = []
    statuses = set()
    app = create_app(authority=authority)
    with TestClient(app, base_url=ISSUER, raise_server_exceptions=False) as client:
        for _ in range(500):
            body, headers = _fuzz_request(rng, service_client, app_client)
            content_type = rng.choice(content_types)
            if content_type is not None:
                headers[b"Content-Type"] = content_type.encode()
            response = client.post("/token", content=body, headers=headers)
            statuses.add(response.status_code)
            if response.status_code not in (200, 400, 401) or (
                response.headers.get("cache-control") != "no-store"
            ):
                failures.append((body, headers, response.status_code, response.text))
    assert failures == []
    assert statuses == {200, 400, 401}  # the loop reached the grants, not just the parser
