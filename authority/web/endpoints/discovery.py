"""Authorization server metadata (RFC 8414) and its OpenID Connect twin, derived, not written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from authority.oauth import authorize, client_auth
from authority.oauth.tokens import CLAIMS_SUPPORTED
from authority.runtime import LoadedKeys
from authority.web.edge import needs
from authority.web.responses import json_response


@dataclass(frozen=True)
class DiscoveryEndpoint:
    issuer: str
    grant_types: list[str]
    id_token_alg: str
    keys: LoadedKeys
    scopes: tuple[str, ...]  # oauth.scopes.published: never the clients' own


def metadata(endpoint: DiscoveryEndpoint, url_for: Any) -> dict[str, Any]:
    issuer = endpoint.issuer

    def absolute(name: str) -> str:
        return issuer + str(url_for(name))

    return {
        "issuer": issuer,
        "authorization_endpoint": absolute("authorize"),
        "token_endpoint": absolute("token"),
        "jwks_uri": absolute("jwks"),
        "userinfo_endpoint": absolute("userinfo"),
        "revocation_endpoint": absolute("revocation"),
        "end_session_endpoint": absolute("end_session"),
        "revocation_endpoint_auth_methods_supported": list(client_auth.PUBLIC_METHODS),
        "introspection_endpoint": absolute("introspection"),
        "introspection_endpoint_auth_methods_supported": list(client_auth.METHODS),
        "grant_types_supported": list(endpoint.grant_types),
        "token_endpoint_auth_methods_supported": list(client_auth.PUBLIC_METHODS),
        "scopes_supported": list(endpoint.scopes),
        "response_types_supported": ["code"],
        "response_modes_supported": list(authorize.RESPONSE_MODES),
        "code_challenge_methods_supported": list(authorize.CODE_CHALLENGE_METHODS),
        "authorization_response_iss_parameter_supported": True,
        "prompt_values_supported": list(authorize.PROMPTS),
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [endpoint.id_token_alg],
        "token_endpoint_auth_signing_alg_values_supported": [],
        "access_token_signing_alg_values_supported": endpoint.keys.published.algorithms(),
        "claims_supported": list(CLAIMS_SUPPORTED),
    }


async def discovery(request: Request) -> Response:
    endpoint = needs(request, DiscoveryEndpoint)
    body = metadata(endpoint, request.app.router.url_path_for)
    return json_response(body, headers={"Cache-Control": "public, max-age=300"})
