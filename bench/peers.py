"""The peer comparison, used with ``run.py --peers``: servers of the peer harness measured the
same way as authority, so that the report can hold our figures against theirs.

A1: panva's oidc-provider, client_credentials with an ES256 JWT access token; A5: its JWKS;
A-sso: its authorization endpoint with a single sign-on session, answering with a code; L5: a
bare Starlette app that signs an ES256 JWT per request, no database (our ceiling). They run from
a set-up copy of the peer harness: ``cp -r ../shared/peers /tmp/peers && (cd /tmp/peers &&
./setup.sh)``. A-sso's provider configuration (a client with a redirect URI and PKCE, the
library's development sign-in pages) is written at run time to a temporary folder; the session
comes from signing in once through those pages, as a browser would.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode, urljoin

from bench.common import HOST, NoRedirect, Server, basic, clean_env, http
from bench.load import (
    CC_BODY,
    REDIRECT_LUA,
    REDIRECT_URI,
    Load,
    authorize_path,
    describe,
    expect_code,
    expect_token,
    static,
)

AUTH = basic("bench-client", "bench-secret")


@dataclass(frozen=True)
class Peer:
    label: str
    argv: Callable[[Path, int], list[str]]
    cwd: str  # under the harness
    path: str
    alg: str | None  # the token it signs; None: a JWKS

    def start(self, home: Path, work: Path, port: int, log: Path, prefix: list[str]) -> Server:
        env = clean_env(PORT=str(port), AT_ALG="ES256", AT_FORMAT="jwt", WORKERS="1")
        env |= {"NODE_ENV": "production", "ISSUER": f"http://{HOST}:{port}"}
        env["KEYS_FILE"] = str(log.with_suffix(".jwks.json"))
        return Server([*prefix, *self.argv(home, port)], env, log, cwd=home / self.cwd)

    def prepare(self, port: int) -> tuple[Load, str]:
        if self.alg is None:
            status, _, body = http(port, "GET", self.path)
            if status != 200:
                raise RuntimeError(f"GET {self.path} -> {status}")
            return static("GET", self.path), describe(body)
        status, _, body = http(port, "POST", self.path, CC_BODY, {"Authorization": AUTH})
        return static("POST", self.path, CC_BODY, AUTH), expect_token(status, body, self.alg)


def _node(home: Path, port: int) -> list[str]:
    return ["node", str(home / "oidc" / "provider.mjs")]


def _starlette(home: Path, port: int) -> list[str]:
    uvicorn = str(home / ".venv" / "bin" / "uvicorn")
    flags = ["--http", "httptools", "--loop", "uvloop", "--no-access-log", "--backlog", "2048"]
    return [uvicorn, "app:app", "--host", HOST, "--port", str(port), *flags]


# -- A-sso: the authorization endpoint, signed in ----------------------------------------------

SSO_CLIENT = "bench-sso"
SSO_PROVIDER = """\
// oidc-provider with one client that signs users in (authorization code, PKCE S256 required,
// client_secret_basic) and the library's development sign-in and consent pages; in-memory
// storage, as for A1. Written by bench/peers.py at run time.
import process from 'node:process';

import Provider from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';

const PORT = Number(process.env.PORT);
const HOST = '127.0.0.1';
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'bench-es256' };
const provider = new Provider(`http://${HOST}:${PORT}`, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: 'bench-sso-secret',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [process.env.REDIRECT_URI],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [jwk] },
  scopes: ['openid'],
  cookies: { keys: ['bench-cookie-key'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
});
provider.on('server_error', (ctx, err) => { console.error('server_error', err); });
const server = provider.listen(PORT, HOST);
server.keepAliveTimeout = 65_000;
const stop = () => { server.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
console.log(`oidc-provider pid=${process.pid} listening on ${HOST}:${PORT}`);
"""
AUTH_PATH = authorize_path("/auth", SSO_CLIENT)
REDIRECTS = frozenset({302, 303})


@dataclass(frozen=True)
class SsoPeer:
    label: str

    def start(self, home: Path, work: Path, port: int, log: Path, prefix: list[str]) -> Server:
        folder = work / "sso-peer"  # the harness's packages, this configuration
        folder.mkdir()
        (folder / "package.json").write_text('{"type": "module"}\n')
        (folder / "node_modules").symlink_to(home / "node_modules")
        (folder / "provider.mjs").write_text(SSO_PROVIDER)
        env = clean_env(PORT=str(port), NODE_ENV="production")
        env |= {"CLIENT_ID": SSO_CLIENT, "REDIRECT_URI": REDIRECT_URI}
        return Server([*prefix, "node", str(folder / "provider.mjs")], env, log, cwd=folder)

    def prepare(self, port: int) -> tuple[Load, str]:
        cookie = sign_in(port)
        status, headers, _ = http(port, "GET", AUTH_PATH, headers={"Cookie": cookie})
        came_back = expect_code(status, headers, REDIRECTS)
        return Load(AUTH_PATH, [f"Cookie: {cookie}"], REDIRECT_LUA, expect=REDIRECTS), came_back


def sign_in(port: int) -> str:
    """Sign in once through the development pages (login, then consent), following the
    redirects as a browser would, until the code comes back; the session's Cookie header."""
    jar = CookieJar()
    cookies = urllib.request.HTTPCookieProcessor(jar)
    handlers = (urllib.request.ProxyHandler({}), NoRedirect(), cookies)
    opener = urllib.request.build_opener(*handlers)
    url, form = urljoin(f"http://{HOST}:{port}", AUTH_PATH), None
    for _ in range(10):
        if url.startswith(REDIRECT_URI):
            session = [f"{c.name}={c.value}" for c in jar if c.name.startswith("_session")]
            return "; ".join(session)
        try:
            with opener.open(url, data=form, timeout=30) as resp:
                page = resp.read().decode()
        except urllib.error.HTTPError as exc:
            if exc.code not in REDIRECTS:
                raise RuntimeError(f"signing in: {url} -> {exc.code}") from None
            url, form = urljoin(url, exc.headers["Location"]), None
            continue
        prompt = re.search(r'name="prompt" value="(\w+)"', page)
        action = re.search(r'<form[^>]* action="([^"]+)"', page)
        if not prompt or not action:
            raise RuntimeError(f"signing in: {url} -> a page without a form")
        fields = {"prompt": prompt.group(1), "login": "bench-user", "password": "bench"}
        url, form = urljoin(url, action.group(1)), urlencode(fields).encode()
    raise RuntimeError("signing in: no code after 10 steps")


PEERS: dict[str, Peer | SsoPeer] = {
    "A1": Peer("oidc-provider, client_credentials ES256", _node, ".", "/token", "ES256"),
    "A5": Peer("oidc-provider, GET /jwks", _node, ".", "/jwks", None),
    "A-sso": SsoPeer("oidc-provider, GET /auth, SSO session (303 with a code)"),
    "L5": Peer("Starlette /es256 ceiling, no DB", _starlette, "asgi", "/es256", "ES256"),
}


def problems(home: Path) -> list[str]:
    """What keeps the peers from running from ``home``."""
    need = [home / "node_modules" / "oidc-provider", home / ".venv" / "bin" / "uvicorn"]
    if shutil.which("node") is None or any(not p.exists() for p in need):
        return [f"the peer harness is not set up in {home}: see bench/peers.py"]
    return []


def versions(home: Path) -> dict[str, str]:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    package = home / "node_modules" / "oidc-provider" / "package.json"
    oidc = json.loads(package.read_text()).get("version", "-")
    return {"peers": f"oidc-provider {oidc} on Node {node}; Starlette ceiling from {home}"}
