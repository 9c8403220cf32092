"""The example resource API under real uvicorn, trusting a real ``authority serve``: scopes,
refusals of forged tokens, and a key rotation it follows without a restart."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.e2e.servers import AUTHORITY, cli, environment, free_port, serve, serve_resource_api
from tests.verify.support import low_s

pytestmark = pytest.mark.e2e
AUDIENCE = "https://api.example"
# JWKS cached 2 s, keys re-read every 1 s: a forced rotation signs within about a second.
FAST_KEYS = {
    "AUTHORITY_JWKS_MAX_AGE": "2",
    "AUTHORITY_KEY_RELOAD_SECONDS": "1",
    "AUTHORITY_CLOCK_LEEWAY": "0",
}


@dataclass(frozen=True)
class Stack:
    env: dict[str, str]
    issuer: str
    api: str
    keys_dir: Path
    writer: tuple[str, str]  # scopes read and write
    reader: tuple[str, str]  # scope read only

    def token(self, auth: tuple[str, str], **extra: str) -> str:
        data = {"grant_type": "client_credentials", **extra}
        response = httpx.post(f"{self.issuer}/token", data=data, auth=auth)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def get_items(self, token: str) -> httpx.Response:
        return httpx.get(f"{self.api}/items", headers={"Authorization": f"Bearer {token}"})

    def jwks_fetches(self) -> int:
        health = httpx.get(f"{self.api}/healthz").json()
        assert health["metadata_fetches"] <= 1
        return int(health["jwks_fetches"])


def _client(env: dict[str, str], name: str, scope: str) -> tuple[str, str]:
    created = cli(
        env,
        *("clients", "create", name, "--grant", "client_credentials"),
        *("--scope", scope, "--audience", AUDIENCE),
    )
    return created["client_id"], created["client_secret"]


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[Stack]:
    port, api_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{port}"
    keys_dir = tmp_path / "keys"
    env = environment(database_url, keys_dir, issuer, **FAST_KEYS)
    cli(env, "init")
    writer = _client(env, "writer", "read write")
    reader = _client(env, "reader", "read")
    with (
        serve(env, port, log=tmp_path / "serve.log"),
        serve_resource_api(issuer, AUDIENCE, api_port, log=tmp_path / "api.log"),
    ):
        yield Stack(env, issuer, f"http://127.0.0.1:{api_port}", keys_dir, writer, reader)


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def _forge(claims: dict[str, Any], key: Any, kid: str) -> str:
    headers = {"kid": kid, "typ": "at+jwt"}
    return low_s(jwt.encode(claims, key, algorithm="ES256", headers=headers))


def _unsigned(claims: dict[str, Any], kid: str) -> str:
    def segment(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{segment({'alg': 'none', 'typ': 'at+jwt', 'kid': kid})}.{segment(claims)}."


def _refusal(description: str) -> tuple[int, dict[str, str], str]:
    return (
        401,
        {"error": "invalid_token", "error_description": description},
        f'Bearer realm="api", error="invalid_token", error_description="{description}"',
    )


def test_without_a_token_the_items_answer_401_with_a_bare_bearer_challenge(stack: Stack) -> None:
    for method in ("GET", "POST"):
        response = httpx.request(method, f"{stack.api}/items", json={"name": "x"})
        assert response.status_code == 401
        assert response.json() == {
            "error": "invalid_request",
            "error_description": "an access token is required",
        }
        assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    assert httpx.get(f"{stack.api}/public").status_code == 200


def test_a_read_token_reads_but_may_not_write_and_a_write_token_writes(stack: Stack) -> None:
    read = stack.token(stack.reader)
    response = stack.get_items(read)
    assert response.status_code == 200
    assert response.json() == {"items": [], "sub": stack.reader[0]}

    refused = httpx.post(
        f"{stack.api}/items", json={"name": "x"}, headers={"Authorization": f"Bearer {read}"}
    )
    assert refused.status_code == 403
    assert refused.json() == {
        "error": "insufficient_scope",
        "error_description": "the token lacks the scope: write",
    }
    assert refused.headers["www-authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="the token lacks the scope: write", scope="write"'
    )

    write = stack.token(stack.writer)
    created = httpx.post(
        f"{stack.api}/items", json={"name": "x"}, headers={"Authorization": f"Bearer {write}"}
    )
    assert created.status_code == 201
    assert created.json() == {"name": "x", "created_by": stack.writer[0]}
    assert stack.get_items(write).json()["items"] == [created.json()]


def test_refuses_tokens_from_another_issuer_expired_unsigned_or_signed_by_an_unknown_key(
    stack: Stack,
) -> None:
    genuine = stack.token(stack.writer)
    assert stack.get_items(genuine).status_code == 200
    kid = _kid(genuine)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    # The authority's own signing key, read from its key folder: only the claims are wrong.
    own_key = (stack.keys_dir / f"{kid}.pem").read_bytes()
    now = int(time.time())
    other_key = ec.generate_private_key(ec.SECP256R1())
    for_the_authority = stack.token(stack.writer, resource=stack.issuer)
    cases = {
        "another issuer": (
            _forge({**claims, "iss": "https://other.example"}, own_key, kid),
            _refusal("the token is from another issuer"),
        ),
        "expired": (
            _forge({**claims, "iat": now - 7200, "exp": now - 3600}, own_key, kid),
            _refusal("the token has expired"),
        ),
        "alg none": (_unsigned(claims, kid), _refusal("the token is signed by an unknown key")),
        "unknown key": (
            _forge(claims, other_key, "not-a-kid-of-ours"),
            _refusal("the token is signed by an unknown key"),
        ),
        "another key under our kid": (
            _forge(claims, other_key, kid),
            _refusal("the token signature is invalid"),
        ),
        "another audience": (
            for_the_authority,
            _refusal("the token is meant for another audience"),
        ),
    }
    for name, (token, (status, body, challenge)) in cases.items():
        response = stack.get_items(token)
        assert (response.status_code, response.json()) == (status, body), name
        assert response.headers["www-authenticate"] == challenge, name
    assert stack.get_items(genuine).status_code == 200


def test_an_api_configured_with_another_issuer_answers_503_and_logs_both_issuers(
    stack: Stack, tmp_path: Path
) -> None:
    # The same authority under another name: its metadata names 127.0.0.1, not localhost.
    wrong = stack.issuer.replace("127.0.0.1", "localhost")
    port, log = free_port(), tmp_path / "wrong-issuer.log"
    token = stack.token(stack.reader)
    with serve_resource_api(wrong, AUDIENCE, port, log=log):
        for _ in range(3):
            response = httpx.get(
                f"http://127.0.0.1:{port}/items", headers={"Authorization": f"Bearer {token}"}
            )
            assert (response.status_code, response.json()) == (
                503,
                {
                    "error": "temporarily_unavailable",
                    "error_description": (
                        "the API's issuer setting does not match the authority's metadata"
                    ),
                },
            )
            assert "www-authenticate" not in response.headers
    logged = [line for line in log.read_text().splitlines() if "configured issuer" in line]
    assert len(logged) == 1
    assert f"the configured issuer is '{wrong}'" in logged[0]
    assert f"publishes issuer '{stack.issuer}'" in logged[0]
    assert stack.get_items(token).status_code == 200  # the right API still accepts it


def test_an_api_whose_authority_is_down_answers_503_with_retry_after(
    stack: Stack, tmp_path: Path
) -> None:
    port, down = free_port(), f"http://127.0.0.1:{free_port()}"  # nothing listens there
    token = stack.token(stack.reader)
    with serve_resource_api(down, AUDIENCE, port, log=tmp_path / "down.log"):
        response = httpx.get(
            f"http://127.0.0.1:{port}/items", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 503
    assert response.json()["error_description"] == "the authority's metadata cannot be fetched"
    assert 1 <= int(response.headers["retry-after"]) <= 10


def test_follows_a_forced_key_rotation_without_a_restart_and_fetches_the_jwks_rarely(
    stack: Stack,
) -> None:
    before = stack.token(stack.writer)
    old_kid = _kid(before)
    accepted, rejected = 0, []

    def verify(token: str) -> None:
        nonlocal accepted
        response = stack.get_items(token)
        if response.status_code == 200:
            accepted += 1
        else:
            rejected.append((_kid(token), response.status_code, response.text))

    for _ in range(25):
        verify(stack.token(stack.writer))
    rotated = subprocess.run(
        [AUTHORITY, "keys", "rotate", "--force", "--json"],
        env=stack.env,
        capture_output=True,
        text=True,
        check=True,
    )
    [rotation] = json.loads(rotated.stdout)["rotations"]
    new_kid = rotation["activated"]
    assert rotation["retired"] == old_kid and new_kid != old_kid

    # Each token is checked by the API as it comes; the loop ends when the authority signs
    # with the new key (within its 1 s reload period).
    deadline, kid = time.monotonic() + 10, old_kid
    while kid != new_kid and time.monotonic() < deadline:
        token = stack.token(stack.writer)
        kid = _kid(token)
        verify(token)
    assert kid == new_kid, "the authority did not sign with the new key within 10 s"
    for _ in range(25):
        token = stack.token(stack.writer)
        assert _kid(token) == new_kid
        verify(token)
    verify(before)  # signed by the retired key, still published and unexpired

    assert rejected == []
    assert accepted >= 51
    # The JWKS is cached for at least the verifier's 10 s refetch interval: one fetch at the
    # first token, perhaps a revalidation or two, never one per token.
    assert 1 <= stack.jwks_fetches() <= 5
