"""The JWKS (RFC 7517 §5): public keys only, cacheable, with an ETag."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from authority.runtime import LoadedKeys
from authority.web.edge import needs
from authority.web.responses import etag_matches


@dataclass(frozen=True)
class JwksEndpoint:
    keys: LoadedKeys
    max_age: int  # AUTHORITY_JWKS_MAX_AGE


async def jwks(request: Request) -> Response:
    endpoint = needs(request, JwksEndpoint)
    ring = endpoint.keys.published
    headers = {
        "Cache-Control": f"public, max-age={endpoint.max_age}",
        "ETag": ring.etag,
    }
    match = request.headers.get("if-none-match")
    if match is not None and etag_matches(match, ring.etag):
        return Response(status_code=304, headers=headers)
    return Response(ring.jwks, headers=headers, media_type="application/jwk-set+json")
