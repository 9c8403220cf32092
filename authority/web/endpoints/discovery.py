"""Authorization server metadata (RFC 8414) and its OpenID Connect twin, derived, not written."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from authority.oauth import client_auth
from authority.oauth.tokens import CLAIMS_SUPPORTED
from authority.runtime import Authority
from authority.web.responses import json_response
from authority.web.threads import in_thread


def metadata(authority: Authority, url_for: Any, scopes: list[str]) -> dict[str, Any]:
    issuer = authority.settings.issuer

    def absolute(name: str) -> str:
        return issuer + str(url_for(name))

    return {
        "issuer": issuer,
        "token_endpoint": absolute("token"),
        "jwks_uri": absolute("jwks"),
        "userinfo_endpoint": absolute("userinfo"),
        "revocation_endpoint": absolute("revocation"),
        "revocation_endpoint_auth_methods_supported": list(client_auth.METHODS),
        "introspection_endpoint": absolute("introspection"),
        "introspection_endpoint_auth_methods_supported": list(client_auth.METHODS),
        "grant_types_supported": authority.grants.grant_types,
        "token_endpoint_auth_methods_supported": list(client_auth.METHODS),
        "scopes_supported": scopes,
        "response_types_supported": [],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [authority.settings.id_token_alg],
        "token_endpoint_auth_signing_alg_values_supported": [],
        "access_token_signing_alg_values_supported": authority.ring.algorithms(),
        "claims_supported": list(CLAIMS_SUPPORTED),
    }


async def discovery(request: Request) -> Response:
    authority: Authority = request.app.state.authority
    scopes = await in_thread(authority, authority.storage.scopes_in_use)
    body = metadata(authority, request.app.router.url_path_for, scopes)
    return json_response(body, headers={"Cache-Control": "public, max-age=300"})
