"""authority-verify, the verifier as its own distribution (packaging/authority-verify): what it
declares, and, built and installed into a fresh virtual environment, what it brings along."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tarfile
import time
import tomllib
import venv
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from authority.keys import KeyRing, SigningKey, algorithms, b64url
from authority.oauth.tokens import Minter

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "packaging" / "authority-verify"
SOURCES = ROOT / "authority" / "verify"
# The adapters each need their framework, installed by the extra of the same name.
ADAPTERS = {
    "starlette.py": "starlette",
    "fastapi.py": "fastapi",
    "drf.py": "drf",
    "drf_users.py": "drf",
}
ISSUER = "https://auth.example"
AUDIENCE = "https://api.example"


def project(path: Path) -> dict[str, Any]:
    with path.open("rb") as file:
        document: dict[str, Any] = tomllib.load(file)["project"]
    return document


VERIFY = project(PROJECT / "pyproject.toml")
SERVER = project(ROOT / "pyproject.toml")


def names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def third_party_imports(module: Path) -> set[str]:
    """The distributions whose modules ``module`` imports (the standard library and
    authority itself left out)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Import):
            tops = [alias.name.partition(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops = [node.module.partition(".")[0]]
        else:
            continue
        for top in tops:
            if top in sys.stdlib_module_names or top in ("__future__", "authority"):
                continue
            found.update(canonicalize_name(d) for d in packages_distributions()[top])
    return found


def test_the_verifier_has_the_servers_version() -> None:
    assert VERIFY["version"] == SERVER["version"]


def test_it_declares_what_the_verifier_imports_with_the_servers_ranges() -> None:
    core = set().union(
        *(third_party_imports(m) for m in SOURCES.glob("*.py") if m.name not in ADAPTERS)
    )
    assert core <= names(VERIFY["dependencies"]) <= {"joserfc", "cryptography"}
    # One range per library: what the server is tested with is what a resource server gets.
    assert set(VERIFY["dependencies"]) <= set(SERVER["dependencies"])


@pytest.mark.parametrize(("module", "extra"), ADAPTERS.items())
def test_each_adapter_s_framework_comes_with_its_extra(module: str, extra: str) -> None:
    declared = VERIFY["optional-dependencies"][extra]
    # FastAPI is built on Starlette and requires it.
    brought = {"starlette"} if extra == "fastapi" else set()
    assert third_party_imports(SOURCES / module) <= names(declared) | brought
    server = SERVER["optional-dependencies"].get(extra, SERVER["dependencies"])
    assert set(declared) <= set(server)


# -- built and installed ---------------------------------------------------------------------


def run(*command: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def build_wheel(source: Path, into: Path) -> Path:
    """``pip wheel`` with this environment's hatchling, so no build backend is downloaded."""
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "-q")
    run(*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-cache-dir", "-w", into, source)
    (wheel,) = into.glob("authority_verify-*.whl")
    return wheel


def wheel_files(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {n: archive.read(n) for n in archive.namelist() if ".dist-info/" not in n}


def server_token(scope: str) -> tuple[str, bytes]:
    """An access token minted by the server's own signing code, and the JWKS it publishes."""
    private = algorithms.generate("ES256")
    jwk = algorithms.public_jwk("ES256", private)
    header = {"alg": "ES256", "typ": "at+jwt", "kid": jwk["kid"]}
    key = SigningKey(
        kid=jwk["kid"],
        alg="ES256",
        sign=algorithms.signer("ES256", private),
        public_jwk=jwk,
        header_b64=b64url(json.dumps(header, separators=(",", ":")).encode()),
    )
    ring = KeyRing([key], {"ES256": key})
    minter = Minter(ISSUER, 900, "ES256", lambda: ring)
    scopes = tuple(scope.split())
    now = int(time.time())
    token = minter.access_token(
        sub="alice", client_id="app", scope=scopes, audience=(AUDIENCE,), now=now
    )
    return token.token, ring.jwks


# Runs inside the fresh environment, isolated (-I) from this checkout.
RESOURCE_SERVER = """
import asyncio, json, sys
import authority, authority.verify
from authority.verify import InsufficientScope, Verifier
from authority.verify.fastapi import BearerAuth
from authority.verify.verifier import Response
from fastapi import HTTPException, Request
from fastapi.security import SecurityScopes

token, jwks = sys.argv[1], sys.argv[2].encode()
verifier = Verifier(
    "https://auth.example", "https://api.example", jwks_uri="https://auth.example/jwks.json",
    fetch=lambda url, headers: Response(200, jwks, {}),
)
plain = verifier.verify(token, ["read"])
try:
    verifier.verify(token, ["write"])
except InsufficientScope as error:
    missing = error.description

def request(authorization):
    headers = [(b"authorization", authorization.encode())]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})

auth = BearerAuth(verifier)
adapter = asyncio.run(auth(request("Bearer " + token), SecurityScopes(["read"])))
try:
    asyncio.run(auth(request("Bearer"), SecurityScopes([])))
except HTTPException as error:
    refusal = [error.status_code, error.headers["WWW-Authenticate"]]
print(json.dumps({
    "plain": [plain.sub, sorted(plain.scopes)],
    "missing": missing,
    "adapter": adapter.sub,
    "refusal": refusal,
    "namespace": getattr(authority, "__file__", None),
    "verify": authority.verify.__file__,
}))
"""


@pytest.mark.e2e
def test_the_fastapi_install_brings_no_server_stack_and_verifies_the_servers_tokens(
    tmp_path: Path,
) -> None:
    # The wheel, and the wheel built from the sdist, hold the same authority/verify files.
    wheel = build_wheel(PROJECT, tmp_path / "wheel")
    files = wheel_files(wheel)
    expected = {f"authority/verify/{m.name}": m.read_bytes() for m in SOURCES.glob("*.py")}
    assert files == expected  # no authority/__init__.py: "authority" is a namespace here
    # The PEP 517 hook itself: pip builds no sdist, and `build` would be one more dependency.
    sdist_hook = "import sys, hatchling.build as b; print(b.build_sdist(sys.argv[1]))"
    name = run(sys.executable, "-c", sdist_hook, tmp_path, cwd=PROJECT).strip()
    with tarfile.open(tmp_path / name) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    assert wheel_files(build_wheel(unpacked, tmp_path / "from-sdist")) == expected

    environment = tmp_path / "resource-server"
    venv.create(environment, with_pip=False)  # pip --python installs into it from outside
    python = environment / "bin" / "python"
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python)
    run(*pip, "install", "-q", f"{wheel}[fastapi]")
    listed = json.loads(run(*pip, "list", "--format=json"))
    installed = {canonicalize_name(entry["name"]) for entry in listed}
    assert {"authority-verify", "fastapi", "joserfc", "cryptography"} <= installed
    # Nothing the server needs beyond the verifier's own libraries (and FastAPI's Starlette).
    server_only = names(SERVER["dependencies"]) - {"joserfc", "cryptography", "starlette"}
    assert {"uvicorn", "sqlalchemy", "sqlmodel", "argon2-cffi", "psycopg"} <= server_only
    server = canonicalize_name(SERVER["name"])
    assert installed & (server_only | {server, "bcrypt", "argon2-cffi-bindings"}) == set()

    token, jwks = server_token("read profile")
    out = run(python, "-I", "-c", RESOURCE_SERVER, token, jwks.decode(), cwd=tmp_path)
    report = json.loads(out)
    assert report == {
        "plain": ["alice", ["profile", "read"]],
        "missing": "the token lacks the scope: write",
        "adapter": "alice",
        "refusal": [
            401,
            'Bearer realm="api", error="invalid_token", '
            'error_description="use Authorization: Bearer with an access token"',
        ],
        "namespace": None,  # no authority/__init__.py: a PEP 420 namespace
        "verify": report["verify"],
    }
    assert Path(report["verify"]).is_relative_to(environment)
