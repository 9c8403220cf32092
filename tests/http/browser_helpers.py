"""What the browser sign-in tests share: a signed-in browser, the sessions started from it,
and id_tokens made to order."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.jwk import ECKey
from starlette.testclient import TestClient

from authority.keys import b64url
from authority.runtime import Authority
from authority.storage import BrowserSession, Family, IssuedAccess
from authority.web.browser import COOKIE
from tests.conftest import ISSUER


@dataclass(frozen=True)
class AppSession:
    """A refresh family started from a browser session, with its two tokens."""

    family_id: str
    access_token: str
    refresh_token: str


def sign_in(http: TestClient, authority: Authority, sub: str) -> BrowserSession:
    """A browser signed in as ``sub``: a browser session, its secret in ``http``'s cookie."""
    user = authority.storage.get_user(sub)
    assert user is not None
    secret, session = authority.browser.start(user, ("pwd",), authority.now())
    http.cookies.set(COOKIE, secret)
    return session


def app_session(
    authority: Authority, client_id: str, sub: str, browser_session_id: str | None
) -> AppSession:
    """A family as the code exchange starts it: refresh token and access token."""
    now = authority.now()
    family_id = f"family-{time.monotonic_ns()}"
    access = authority.minter.access_token(
        sub=sub,
        client_id=client_id,
        scope=("read",),
        audience=(ISSUER,),
        now=now,
        sid=family_id,
    )
    refresh = f"refresh-token-{time.monotonic_ns()}"
    family = Family(
        family_id=family_id,
        client_id=client_id,
        sub=sub,
        scope=("read",),
        audience=(ISSUER,),
        auth_time=now,
        created_at=now,
        last_used_at=now,
        expires_at=now + 3600,
        browser_session_id=browser_session_id,
    )
    authority.storage.start_family(
        family,
        authority.digest.digest(refresh),
        now + 3600,
        IssuedAccess(access.jti, access.expires_at),
    )
    return AppSession(family_id, access.token, refresh)


def id_token(
    authority: Authority,
    claims: dict[str, Any],
    *,
    typ: str = "JWT",
    foreign_key: bool = False,
) -> str:
    """An id_token signed with our active id_token key (or, ``foreign_key``, a key of the
    same kid that is not ours), with exactly ``claims``."""
    key = authority.keys.current().active(authority.settings.id_token_alg)
    header = {"alg": key.alg, "typ": typ, "kid": key.kid}
    signing_input = (
        b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    ).encode("ascii")
    if foreign_key:
        return jws.serialize_compact(header, json.dumps(claims), ECKey.generate_key("P-256"))
    return f"{signing_input.decode()}.{b64url(key.sign(signing_input))}"


def id_token_claims(authority: Authority, sub: str, aud: str | list[str]) -> dict[str, Any]:
    now = authority.now()
    return {"iss": ISSUER, "sub": sub, "aud": aud, "exp": now + 300, "iat": now}
