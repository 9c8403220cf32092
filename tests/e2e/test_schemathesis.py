"""schemathesis against a running server: every operation of its /openapi.json is called with
the document's examples and with generated requests, valid and invalid, for a bounded time on
each backend, and every answer is checked: no 5xx, and a status, content type, headers and
body that the document gives that operation.

Requests authenticate as the document says: HTTP Basic as a client that has every grant, a
user's access token (fetched again by password login whenever a request ends that session),
and, when the document describes the admin API, an admin client's access token (fetched again
by client_credentials whenever one is refused, as after an emergency rotation revoked the key
that signed it). The admin API's paths name clients and users made for it to change, so
that no generated request disables, deletes, renames or re-keys the clients and the user the
requests authenticate as.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from authority.web import openapi
from tests.e2e.servers import cli, environment, free_port, serve

pytestmark = pytest.mark.e2e

# What is checked of every answer (schemathesis's names).
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
SECONDS = 40  # of generated requests per backend; the whole test takes about twice that
USER, PASSWORD = "fuzzer", "a long and unlikely fuzzing passphrase"
USER_SCHEME = "userAccessToken"  # public.yaml's security scheme of a user's access token
CLIENT_SCHEME = "clientSecretBasic"
ADMIN_SCOPE = "authority:admin"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _toml(value: object) -> str:
    """A TOML value: JSON's strings, numbers and arrays are TOML's."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


# The operations that delete what their path names: they are given a client and a user of
# their own, so that the others keep finding theirs.
DELETING = ("adminDeleteClient", "adminDeleteUser")


@dataclass(frozen=True)
class Admin:
    """The admin API's side of a run: the admin client whose token its requests carry, and
    the client and user (client_id, username) its paths name: ``kept`` in most operations,
    ``doomed`` in the DELETING ones."""

    client: tuple[str, str]
    kept: tuple[str, str]
    doomed: tuple[str, str]


def _token_request(payload: dict[str, str]) -> dict[str, object]:
    """A dynamic token: ``payload`` posted to /token, fetched again after any 401."""
    return {
        "path": "/token",
        "method": "post",
        "payload_content_type": "application/x-www-form-urlencoded",
        "payload": payload,
        "extract_selector": "/access_token",
        "retry_on": [401],
    }


def auth_config(
    document: dict[str, Any],
    issuer: str,
    client: tuple[str, str],
    admin: Admin | None = None,
) -> str:
    """schemathesis's configuration of who the requests are: the client for Basic, a user's
    token fetched by a password login (again after a request that ended its session), and
    the admin client's token for every other bearer scheme of the document (the admin
    API's), whose paths name ``admin``'s clients and users, never the fuzzer's own."""
    client_id, secret = client
    login = {
        "grant_type": "password",
        "username": USER,
        "password": PASSWORD,
        "client_id": client_id,
        "client_secret": secret,
        "resource": issuer,
        "scope": "openid profile email",
    }
    sections: dict[str, dict[str, object]] = {
        f"auth.openapi.{CLIENT_SCHEME}": {"username": client_id, "password": secret},
        f"auth.dynamic.openapi.{USER_SCHEME}": _token_request(login),
    }
    schemes = document["components"]["securitySchemes"]
    for name, scheme in schemes.items():
        bearer = scheme.get("scheme", "").lower() == "bearer" or scheme["type"] == "oauth2"
        if name not in (USER_SCHEME, CLIENT_SCHEME) and bearer:
            assert admin is not None, f"no token for the security scheme {name}"
            admin_id, admin_secret = admin.client
            credentials = {"client_id": admin_id, "client_secret": admin_secret}
            payload = {"grant_type": "client_credentials", "scope": ADMIN_SCOPE, **credentials}
            sections[f"auth.dynamic.openapi.{name}"] = _token_request(payload)
    operations: list[dict[str, object]] = []
    if admin is not None:
        sections["parameters"] = _named(*admin.kept)
        operations.append(
            {"include-operation-id": list(DELETING), "parameters": _named(*admin.doomed)}
        )
    return "".join(
        f"[{section}]\n" + _pairs(values) for section, values in sections.items()
    ) + "".join("[[operations]]\n" + _pairs(values) for values in operations)


def _named(client_id: str, username: str) -> dict[str, object]:
    """The value of every path's {client_id} and {username}."""
    return {"path.client_id": client_id, "path.username": username}


def _pairs(values: dict[str, object]) -> str:
    return "".join(f"{json.dumps(k)} = {_toml(v)}\n" for k, v in values.items())


def run_schemathesis(
    issuer: str,
    client: tuple[str, str],
    folder: Path,
    admin: Admin | None = None,
    seconds: int = SECONDS,
) -> subprocess.CompletedProcess[str]:
    """``schemathesis run`` against ``issuer``'s /openapi.json, bounded by ``seconds``."""
    document = httpx.get(f"{issuer}/openapi.json").json()
    config = folder / "schemathesis.toml"
    config.write_text(auth_config(document, issuer, client, admin))
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run"),
        f"{issuer}/openapi.json",
        *("--checks", ",".join(CHECKS)),
        *("--max-time", str(seconds), "--max-examples", "20"),
        *("--request-timeout", "10", "--max-redirects", "0"),
        *("--generation-database", "none", "--no-color"),
    ]
    return subprocess.run(
        command, cwd=folder, capture_output=True, text=True, timeout=seconds + 120, check=False
    )


def admin_side(env: dict[str, str]) -> Admin:
    """An admin client, made as an operator makes one (`clients create NAME --admin`), and
    the clients and users for the admin API's requests to change."""
    admin = cli(env, "clients", "create", "fuzzing-admin", "--admin")
    named: list[tuple[str, str]] = []
    for name in ("fuzzed", "doomed"):
        target = cli(env, "clients", "create", name, "--grant", "client_credentials")
        cli(env, "users", "create", name, "--password-stdin", stdin=PASSWORD + "\n")
        named.append((target["client_id"], name))
    return Admin((admin["client_id"], admin["client_secret"]), *named)


@pytest.mark.timeout(SECONDS + 240)
def test_every_answer_to_generated_requests_is_one_the_document_allows(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    document = openapi.document(issuer, "")
    with_admin = any(path.startswith("/admin/") for path in document["paths"])
    env = environment(
        database_url,
        tmp_path / "keys",
        issuer,
        AUTHORITY_REGISTRATION="open",
        AUTHORITY_EMAIL_URL=f"file://{tmp_path / 'mail'}",
        # Generated password changes count as the user's failed logins, and generated logins
        # as the address's: a lockout of a second keeps the user's own login working.
        AUTHORITY_LOGIN_LOCKOUT="1",
        AUTHORITY_LOGIN_MAX_FAILURES="1000",
        AUTHORITY_LOGIN_MAX_FAILURES_PER_IP="100000",
        **({"AUTHORITY_ADMIN_API": "on"} if with_admin else {}),
    )
    with serve(env, port, log=tmp_path / "serve.log"):
        grants = ("client_credentials", "password", "refresh_token")
        client = cli(
            env,
            "clients",
            "create",
            "fuzzing",
            *(arg for grant in grants for arg in ("--grant", grant)),
            *("--scope", "openid profile email read", "--audience", "https://api.example"),
        )
        cli(
            env,
            "users",
            "create",
            USER,
            "--email",
            "fuzzer@example.net",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        admin = admin_side(env) if with_admin else None

        done = run_schemathesis(
            issuer, (client["client_id"], client["client_secret"]), tmp_path, admin
        )

    report = done.stdout[-20000:] + done.stderr[-5000:]
    assert done.returncode == 0, report
    # Every operation it found was called (none left out for a schema it could not use); it
    # leaves out /openapi.json itself.
    operations = sum(len(set(item) & METHODS) for item in document["paths"].values())
    found = re.search(r"^ *Selected: (\d+)/(\d+)\n *Tested: (\d+)$", done.stdout, re.MULTILINE)
    assert found is not None, report
    assert int(found[1]) == int(found[2]) == int(found[3]) == operations - 1, report
